"""The shared tables: ``event_log`` (append-only, enforced by triggers), ``relay_position`` and ``inbox``.

They live on their own metadata; each service's first migration creates them with
:func:`create_log_tables` / :func:`create_inbox_table`, so their DDL is written once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Connection

from aireg_events.log.columns import UtcTimestamp

LOG_METADATA = MetaData()

event_log = Table(
    "event_log",
    LOG_METADATA,
    Column("log_position", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("event_type", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("stream_id", String(200), nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("occurred_at", UtcTimestamp(), nullable=False),
    Column("causation_id", String(36), nullable=True),
    Column("hash", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("traceparent", String(55), nullable=True),
    UniqueConstraint("stream_id", "stream_version", name="uq_event_log_stream_version"),
)
"""One row per event; ``body`` is the canonical JSON envelope, the other columns index it.
``traceparent`` is the trace context of the request that caused the event (outside the hash: it says
how the event was traced, not what was decided)."""

relay_position = Table(
    "relay_position",
    LOG_METADATA,
    Column("topic", String(255), primary_key=True),
    Column("log_position", BigInteger, nullable=False),
    Column("updated_at", UtcTimestamp(), nullable=False),
)

inbox = Table(
    "inbox",
    LOG_METADATA,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("producer", String(100), nullable=False),
    Column("log_position", BigInteger, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("topic", String(255), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("applied_at", UtcTimestamp(), nullable=False),
    Column("own_log_head", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
)
"""The events a consumer has applied, written in the same transaction as their effect.

``seq`` is the order they were applied in, ``own_log_head`` the consumer's own log position at that
moment, and ``body`` the canonical envelope: together they let a service rebuild its state from its own
log and its inputs, interleaved exactly as they happened."""

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER event_log_refuses_update BEFORE UPDATE ON event_log
       BEGIN SELECT RAISE(ABORT, 'event_log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER event_log_refuses_delete BEFORE DELETE ON event_log
       BEGIN SELECT RAISE(ABORT, 'event_log is append-only: DELETE refused'); END""",
]

_POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION event_log_refuse_change() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'event_log is append-only: % refused', TG_OP; END;
       $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER event_log_refuses_change BEFORE UPDATE OR DELETE ON event_log
       FOR EACH ROW EXECUTE FUNCTION event_log_refuse_change()""",
    """CREATE TRIGGER event_log_refuses_truncate BEFORE TRUNCATE ON event_log
       FOR EACH STATEMENT EXECUTE FUNCTION event_log_refuse_change()""",
]


def append_only_triggers(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return list(_SQLITE_TRIGGERS)
    if dialect == "postgresql":
        return list(_POSTGRES_TRIGGERS)
    raise ValueError(f"no append-only triggers for dialect {dialect!r}")


def install_log_schema(bind: Connection, *, log: bool = True, inbox_table: bool = True) -> None:
    """Create the shared tables on a synchronous connection (``event_log`` with its triggers)."""
    if log:
        LOG_METADATA.create_all(bind, tables=[event_log, relay_position])
        for statement in append_only_triggers(bind.dialect.name):
            bind.exec_driver_sql(statement)
    if inbox_table:
        LOG_METADATA.create_all(bind, tables=[inbox])


def create_log_tables(op: Any) -> None:
    """Create ``event_log`` (with its triggers) and ``relay_position``; call from an Alembic migration."""
    install_log_schema(op.get_bind(), log=True, inbox_table=False)


def create_inbox_table(op: Any) -> None:
    """Create ``inbox``; call from an Alembic migration."""
    install_log_schema(op.get_bind(), log=False, inbox_table=True)
