"""Logs written before canonical JSON became RFC 8785 (format 1: orjson's output, ``1.0`` where JCS writes
``1``) are refused, never carried on: ``aireg up`` looks for their events in a ``var/`` folder's SQLite
logs before it starts anything, and names them (docs/architecture.md, "Rebuild and audit")."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import orjson

from aireg_events.chain import ChainLink
from aireg_events.topics import PRODUCER_TOPICS


@dataclass(frozen=True)
class OldLog:
    database: Path
    positions: list[int]
    """The log positions hashed under format 1 (the first few)."""


def old_format_logs(var_dir: Path, *, show: int = 5) -> list[OldLog]:
    """Each producer's SQLite log under ``var_dir`` that holds an event hashed under format 1."""
    found: list[OldLog] = []
    for producer in PRODUCER_TOPICS:
        database = var_dir / f"{producer}.db"
        if not database.exists():
            continue
        positions: list[int] = []
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            rows = connection.execute("SELECT log_position, body FROM event_log ORDER BY log_position")
            for position, body in rows:
                raw = body.encode() if isinstance(body, str) else bytes(body)
                if ChainLink.from_record(raw, orjson.loads(raw)).old_format:
                    positions.append(int(position))
                    if len(positions) >= show:
                        break
        except sqlite3.OperationalError:
            continue  # no log table yet: nothing was written
        finally:
            connection.close()
        if positions:
            found.append(OldLog(database, positions))
    return found
