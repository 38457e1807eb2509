"""The offline audit bundle: both topics' records exactly as the broker gave them, the producers' public
keys and a manifest with the SHA-256 of each part, in one zip file, so an auditor verifies the log with no
broker and no service (``aireg audit export --out FILE``, ``aireg audit verify --bundle FILE``; the
JavaScript verifier reads it too). Its layout is written down in docs/audit.md ("The offline bundle").
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from aireg_events.canonical import format_timestamp
from aireg_events.envelope import utc_now
from aireg_events.topic_reader import Progress, TopicRecord, read_topic_batches
from aireg_events.topics import PRODUCER_TOPICS, Topics

BUNDLE_FORMAT = "aireg-audit-bundle/1"
MANIFEST = "manifest.json"
BATCH = 5000


class BundleError(ValueError):
    """A file that is not an audit bundle this version reads (the reason says why)."""


@dataclass
class BundleSummary:
    path: Path
    records: dict[str, int]
    keys: list[str]
    parts: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"bundle": str(self.path), "records": self.records, "keys": self.keys, "parts": self.parts}


def _records_part(producer: str) -> str:
    return f"records/{producer}.jsonl"


def _record_line(record: Any) -> bytes:
    key = record.key
    return orjson.dumps(
        {
            "partition": record.partition,
            "offset": record.offset,
            "key": None if key is None else base64.b64encode(key).decode(),
            "value": base64.b64encode(record.value or b"").decode(),
            "headers": [[name, base64.b64encode(value or b"").decode()] for name, value in record.headers],
        }
    )


async def export_bundle(
    bootstrap_servers: str,
    topics: Topics,
    public_keys: dict[str, list[Path]],
    out: Path,
    *,
    progress: Progress | None = None,
) -> BundleSummary:
    """Read both topics from offset 0 (the audit's own reader) and write the bundle to ``out``."""
    topic_producer = {topics.of(producer): producer for producer in PRODUCER_TOPICS}
    counts = dict.fromkeys(PRODUCER_TOPICS, 0)
    digests = {producer: hashlib.sha256() for producer in PRODUCER_TOPICS}
    sizes = dict.fromkeys(PRODUCER_TOPICS, 0)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with tempfile.TemporaryDirectory(dir=out.parent) as spool:
        # the records go to one file per producer first: a zip takes one writer at a time
        spooled = {producer: Path(spool) / f"{producer}.jsonl" for producer in PRODUCER_TOPICS}
        writers = {producer: path.open("wb") for producer, path in spooled.items()}
        try:
            async for records in read_topic_batches(
                bootstrap_servers, list(topic_producer), progress=progress
            ):
                producer = topic_producer[records[0].topic]
                chunk = b"".join(_record_line(record) + b"\n" for record in records)
                writers[producer].write(chunk)
                digests[producer].update(chunk)
                sizes[producer] += len(chunk)
                counts[producer] += len(records)
        finally:
            for writer in writers.values():
                writer.close()
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
            for producer, path in spooled.items():
                bundle.write(path, _records_part(producer))
            summary = _finish(bundle, topics, public_keys, counts, sizes, digests)
    partial.replace(out)
    summary.path = out
    return summary


def _finish(
    bundle: zipfile.ZipFile,
    topics: Topics,
    public_keys: dict[str, list[Path]],
    counts: dict[str, int],
    sizes: dict[str, int],
    digests: dict[str, Any],
) -> BundleSummary:
    """The keys and the manifest, once the records are in."""
    parts: list[dict[str, Any]] = [
        {
            "path": _records_part(producer),
            "kind": "records",
            "producer": producer,
            "topic": topics.of(producer),
            "records": counts[producer],
            "bytes": sizes[producer],
            "sha256": digests[producer].hexdigest(),
        }
        for producer in PRODUCER_TOPICS
    ]
    key_names: list[str] = []
    for producer, paths in public_keys.items():
        for path in paths:
            data = path.read_bytes()
            name = f"keys/{path.name}"
            bundle.writestr(name, data)
            key_names.append(name)
            parts.append(
                {
                    "path": name,
                    "kind": "public_key",
                    "producer": producer,
                    "bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
    manifest = {
        "format": BUNDLE_FORMAT,
        "created_at": format_timestamp(utc_now()),
        "canonical_json": "RFC 8785",
        "topics": {producer: topics.of(producer) for producer in PRODUCER_TOPICS},
        "parts": parts,
    }
    bundle.writestr(MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return BundleSummary(Path(), counts, key_names, parts)


@dataclass
class OpenBundle:
    """A bundle opened for reading: its manifest, and what in it does not match the manifest."""

    archive: zipfile.ZipFile
    manifest: dict[str, Any]
    mismatches: list[str]

    def parts(self, kind: str) -> list[dict[str, Any]]:
        return [part for part in self.manifest["parts"] if part.get("kind") == kind]

    def public_keys(self) -> dict[str, list[bytes]]:
        keys: dict[str, list[bytes]] = {}
        for part in self.parts("public_key"):
            keys.setdefault(str(part["producer"]), []).append(self.archive.read(part["path"]))
        return keys

    async def record_batches(self) -> AsyncIterator[list[TopicRecord]]:
        """The records as the broker gave them, in batches of one partition each (as the broker's)."""
        for batch in self._batches():
            yield batch

    def _batches(self) -> Iterator[list[TopicRecord]]:
        for part in self.parts("records"):
            topic = str(part["topic"])
            pending: dict[int, list[TopicRecord]] = {}
            with self.archive.open(part["path"]) as lines:
                for line in lines:
                    item = orjson.loads(line)
                    key = item["key"]
                    record = TopicRecord(
                        topic,
                        int(item["partition"]),
                        int(item["offset"]),
                        None if key is None else base64.b64decode(key),
                        base64.b64decode(item["value"]),
                        [(str(name), base64.b64decode(value)) for name, value in item.get("headers", ())],
                    )
                    batch = pending.setdefault(record.partition, [])
                    batch.append(record)
                    if len(batch) >= BATCH:
                        yield batch
                        pending[record.partition] = []
            for batch in pending.values():
                if batch:
                    yield batch

    def close(self) -> None:
        self.archive.close()


def open_bundle(path: Path) -> OpenBundle:
    """Open ``path`` and check every part against the manifest's SHA-256 (a mismatch is reported, not
    raised: the chains are still verified, and name what was changed)."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise BundleError(f"{path} is not an audit bundle (a zip file): {error}") from error
    try:
        manifest = orjson.loads(archive.read(MANIFEST))
    except (KeyError, orjson.JSONDecodeError) as error:
        archive.close()
        raise BundleError(f"{path} has no readable {MANIFEST}: {error}") from error
    if manifest.get("format") != BUNDLE_FORMAT:
        archive.close()
        raise BundleError(
            f"{path} is of format {manifest.get('format')!r}; this version reads {BUNDLE_FORMAT}"
        )
    mismatches: list[str] = []
    listed = {str(part["path"]) for part in manifest["parts"]}
    for part in manifest["parts"]:
        digest = hashlib.sha256()
        try:
            with archive.open(part["path"]) as data:
                while chunk := data.read(1 << 20):
                    digest.update(chunk)
        except KeyError:
            mismatches.append(f"{part['path']} is listed in the manifest but not in the bundle")
            continue
        if digest.hexdigest() != part["sha256"]:
            mismatches.append(f"{part['path']} does not match its SHA-256 in the manifest")
    for name in archive.namelist():
        if name != MANIFEST and name not in listed:
            mismatches.append(f"{name} is in the bundle but not in the manifest")
    return OpenBundle(archive, manifest, mismatches)
