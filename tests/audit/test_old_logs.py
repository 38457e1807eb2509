"""``aireg up`` over a ``var/`` written before canonical JSON became RFC 8785 refuses to start, and says
which log, which positions and what to do; it never carries an old chain on silently."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson

from aireg_events.canonical import canonical_json
from aireg_events.envelope import GENESIS_HASH


def old_format_event(position: int, prev_hash: str, similarity: float | None) -> tuple[bytes, str]:
    """An envelope as the version before 2026-12 wrote it: hashed over orjson's output (``1.0``)."""
    payload = {
        "proposal_id": f"p{position}",
        "similar": [] if similarity is None else [{"similarity": similarity}],
    }
    content = {
        "actor": {"name": "triage", "organization": None, "role": "system"},
        "causation_id": None,
        "correlation_id": f"c{position}",
        "event_id": f"e{position}",
        "event_type": "ProposalTriaged",
        "log_position": position,
        "occurred_at": "2026-11-20T10:00:00.000000Z",
        "payload": payload,
        "prev_hash": prev_hash,
        "producer": "analysis",
        "schema_version": 1,
        "stream_id": f"p{position}",
        "stream_version": 1,
    }
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return orjson.dumps({**content, "hash": digest}, option=orjson.OPT_SORT_KEYS), digest


def test_up_refuses_a_var_folder_whose_log_was_hashed_under_the_old_canonical_form(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    first, head = old_format_event(1, GENESIS_HASH, 0.75)  # 0.75: the same bytes under both rules
    second, _ = old_format_event(2, head, 1.0)  # 1.0: orjson wrote 1.0, JCS writes 1
    assert b'"similarity":1.0' in second and canonical_json(orjson.loads(first)) == first
    with sqlite3.connect(var / "analysis.db") as connection:
        connection.execute("CREATE TABLE event_log (log_position INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        connection.executemany(
            "INSERT INTO event_log VALUES (?, ?)", [(1, first.decode()), (2, second.decode())]
        )
    completed = subprocess.run(
        [sys.executable, "-m", "aireg_cli.main", "up", "--var", str(var)],
        capture_output=True,
        timeout=60,
        text=True,
    )
    said = " ".join(completed.stderr.split())  # the console wraps long lines
    assert completed.returncode == 2
    assert "analysis.db: events hashed" in said and "at positions 2..." in said
    assert "before RFC 8785" in said and "move" in said
    assert not (var / "stack.json").exists()  # nothing was started
