"""Settings every service reads (pydantic-settings, from the environment); each service extends them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from aireg_events.topics import MAX_EVENT_BYTES, Topics


class ServiceSettings(BaseSettings):
    """``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` as docs/operations.md names them; the rest ``AIREG_*``."""

    model_config = SettingsConfigDict(env_prefix="AIREG_", extra="ignore", populate_by_name=True)

    database_url: str = Field(validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
    )
    host: str = "127.0.0.1"
    port: int = 8000
    trusted_proxies: str = ""
    """``AIREG_TRUSTED_PROXIES``: the addresses (comma-separated IPs or networks) of the reverse proxies
    whose ``X-Forwarded-For`` names the client. Empty: the header is ignored from everyone, so the
    per-address budget counts the address that connected, whatever a client writes in it."""
    topic_namespace: str = ""
    """A prefix for every topic name (tests, several deployments on one cluster); empty in production."""
    topic_partitions: int = 3
    topic_replication_factor: int = 1
    """Copies of each topic a service creates when missing (3 on a cluster of three brokers)."""
    topic_min_insync_replicas: int = 1
    """Copies that must hold an event before an ``acks=all`` write is acknowledged (2 with 3 copies)."""
    max_event_bytes: int = MAX_EVENT_BYTES
    """``AIREG_MAX_EVENT_BYTES``: the largest event (its canonical JSON) a service records; a command that
    would record a larger one is refused, 422 ``event_too_large`` naming the field. The topics a service
    creates take it (``max.message.bytes`` 64 KiB above), and the relay sends it (gzip)."""
    kafka_enable_idempotence: bool | None = None
    """The relay's idempotent producer: unset, used where the broker grants it (Apache Kafka; the
    embedded Tansu refuses it); true requires it; false never uses it."""
    token_public_key_file: Path
    revoked_tokens_file: Path | None = None
    max_body_bytes: int = 1024 * 1024
    rate_limit_per_minute: int = 6000
    """Requests a verified token may make per minute (bursts up to the same number); 0 turns it off."""
    rate_limit_per_address_per_minute: int = 6000
    """The same for requests without a verified token, per client address; 0 turns it off."""
    request_timeout_seconds: float = 30.0
    """An answer not started by then is a 503 ``request_timeout``; 0 turns it off."""
    body_read_timeout_seconds: float = 10.0
    """A request body not received whole by then is a 408 ``body_timeout``; reading it holds no request
    slot, and a body is read only after its token verified. 0 turns it off."""
    max_concurrent_requests: int = 1000
    """Requests in progress at once; beyond it a 503 ``overloaded`` (load shedding); 0 turns it off."""
    run_migrations: bool = True
    otel_exporter: Literal["none", "otlp", "jsonl"] = "none"
    """Where spans go: nowhere, an OTLP collector (OTEL_EXPORTER_OTLP_* settings), or a JSON-lines file."""
    otel_jsonl_file: Path | None = None
    log_format: Literal["json", "text"] = "json"
    checkpoint_every: int = 1000
    """A producer appends a signed ChainCheckpoint after this many events..."""
    checkpoint_interval_seconds: float = 60.0
    """...and after this many seconds when its log moved since the last one."""

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_namespace)
