"""The reporting service's settings (environment: ``DATABASE_URL``, ``KAFKA_BOOTSTRAP_SERVERS``, ``AIREG_*``)."""

from __future__ import annotations

from aireg_http.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8003
    consumer_group: str = "aireg-reporting"
    stream_max_per_token: int = 10
    """``AIREG_STREAM_MAX_PER_TOKEN``: open live streams one token may have (429 beyond); 0: no cap."""
    stream_max_total: int = 2000
    """``AIREG_STREAM_MAX_TOTAL``: open live streams in all (503 beyond); 0: no cap."""
