"""The reporting service's settings (environment: ``DATABASE_URL``, ``KAFKA_BOOTSTRAP_SERVERS``, ``AIREG_*``)."""

from __future__ import annotations

from aireg_http.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8003
    consumer_group: str = "aireg-reporting"
