"""The submission service's settings (environment: ``DATABASE_URL``, ``KAFKA_BOOTSTRAP_SERVERS``, ``AIREG_*``)."""

from __future__ import annotations

from pathlib import Path

from aireg_http.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8001
    signing_key_file: Path
    """Ed25519 private key: signs receipts and chain checkpoints."""
    digest_secret_file: Path | None = None
    """The secret of the keyed digests of personal data (hex, ``aireg keys create`` writes
    ``submission.digest-secret``); unset: the service keeps one in its own database."""
    consumer_group: str = "aireg-submission"
