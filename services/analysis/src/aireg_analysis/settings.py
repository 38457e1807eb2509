"""The analysis service's settings (environment: ``DATABASE_URL``, ``KAFKA_BOOTSTRAP_SERVERS``, ``AIREG_*``)."""

from __future__ import annotations

from pathlib import Path

from aireg_http.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8002
    signing_key_file: Path
    """Ed25519 private key: signs chain checkpoints."""
    consumer_group: str = "aireg-analysis"
