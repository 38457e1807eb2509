"""An auditor checks our log without our code: a real log (both producers, a campaign of form letters, an
exact duplicate, signed checkpoints) is verified by the JavaScript verifier (npm ``canonicalize``, node's
crypto, kafkajs; ``verifiers/javascript/``) from the topics and from the offline bundle, and by a verifier
built here on the reference canonicalizer (the ``rfc8785`` package, ``hashlib``, ``cryptography``) with
none of aireg's code; a tampered copy is refused by all three with the producer and position named;
``aireg audit export`` round-trips; a log hashed under the canonical form before RFC 8785 is refused
as such; and our canonical bytes equal ``canonicalize``'s (V8's own number formatting) on 4,000 random
values.

The services run as real processes (submission and analysis, SQLite, the shared test broker).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from aireg_cli.keys import KeyRing
from aireg_events.canonical import canonical_json_of_decoded
from tests.support.system import System, build_system, consultation_body, proposal_body
from tests.support.tokens import TokenFactory

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
JAVASCRIPT = ROOT / "verifiers" / "javascript"
FORM_LETTER = (
    "We the undersigned residents ask the ministry to require certification of every diagnostic "
    "artificial intelligence system before it is used in public hospitals, to publish the list of "
    "certified systems, to name the operator liable for each error, and to review the rules every "
    "two years with patients and doctors at the table, because the cost of an error in medicine is "
    "too high to leave to the market alone and trust is earned by rules that everyone can read"
)
Fault = tuple[str, int, str]


@dataclass
class RealLog:
    system: System
    keys: KeyRing
    bundle: Path
    folder: Path
    records: dict[str, list[bytes]]
    """Each producer's record values, as exported (read order)."""


def aireg(*arguments: str, cwd: Path | None = None) -> tuple[int, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "aireg_cli.main", *arguments, "--json"],
        capture_output=True,
        timeout=180,
        cwd=cwd,
    )
    assert completed.stdout, completed.stderr.decode()[-3000:]
    return completed.returncode, json.loads(completed.stdout)


def bundle_records(bundle: Path) -> dict[str, list[bytes]]:
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        return {
            part["producer"]: [
                base64.b64decode(json.loads(line)["value"])
                for line in archive.read(part["path"]).splitlines()
                if line
            ]
            for part in manifest["parts"]
            if part["kind"] == "records"
        }


@pytest.fixture(scope="module")
def real_log(
    kafka_bootstrap: str, keys: KeyRing, tokens: TokenFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RealLog]:
    folder = tmp_path_factory.mktemp("independent-audit")
    every = {"AIREG_CHECKPOINT_EVERY": "3", "AIREG_CHECKPOINT_INTERVAL_SECONDS": "3600"}
    system = build_system(
        backend="sqlite",
        bootstrap=kafka_bootstrap,
        keys=keys,
        tokens=tokens,
        folder=folder,
        names=("submission", "analysis"),
        extra_env={"submission": every, "analysis": every},
    )
    try:
        system.start()
        for process in system.services.values():
            process.wait_healthy(90)
        consultation = httpx.post(
            f"{system.url('submission')}/v1/consultations", headers=system.admin, json=consultation_body()
        )
        assert consultation.status_code == 201, consultation.text
        consultation_id = consultation.json()["consultation_id"]
        texts = [
            FORM_LETTER + " signed in Kazan",
            FORM_LETTER + " signed in Tomsk",
            FORM_LETTER + " signed in Omsk",
            FORM_LETTER + " signed in Kazan",  # the exact duplicate of the first
            "Sandboxes for AI in finance: an experimental legal regime for three years, then a law.",
            "Open data for model training: public bodies publish anonymized data sets under one licence.",
        ]
        for index, text in enumerate(texts):
            answer = httpx.post(
                f"{system.url('submission')}/v1/consultations/{consultation_id}/proposals",
                headers={
                    **tokens.header("portal", f"portal-{index % 2}"),
                    "Idempotency-Key": str(uuid.uuid4()),
                },
                json=proposal_body(f"Proposal {index}", text=text),
            )
            assert answer.status_code == 201, answer.text
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            feeds = {name: asyncio.run(system.feed(name)) for name in system.services}
            triaged = [item for item in feeds["analysis"] if item["event_type"] == "ProposalTriaged"]
            if len(triaged) == len(texts):
                break
            time.sleep(0.5)
        else:
            raise AssertionError("analysis did not triage every proposal within 90 s")
        bundle = folder / "audit-bundle.zip"
        arguments = ("--bootstrap", kafka_bootstrap, "--namespace", system.namespace)
        while time.monotonic() < deadline + 30:  # until the topics hold what the feeds hold
            code, summary = aireg(
                "audit", "export", "--out", str(bundle), "--keys", str(keys.directory), *arguments
            )
            assert code == 0, summary
            heads = {name: len(asyncio.run(system.feed(name))) for name in system.services}
            if all(summary["records"][name] >= heads[name] for name in heads):
                break
            time.sleep(1)
        yield RealLog(system, keys, bundle, folder, bundle_records(bundle))
    finally:
        system.stop()


# --- a verifier built on the reference canonicalizer, with none of aireg's code -----------------------


def reference_verify(records: dict[str, list[bytes]], key_folder: Path) -> set[Fault]:
    """Hash = SHA-256 of the RFC 8785 form (``rfc8785``) of every field but ``hash``; chain per producer
    over ``log_position`` from the genesis hash; checkpoints signed (Ed25519) over the RFC 8785 form of
    ``{producer, head_position, head_hash, signed_at}`` by a key whose id is the SHA-256 of its raw bytes,
    first 16 hex digits. Written from docs/audit.md."""
    faults: set[Fault] = set()
    for producer, values in records.items():
        keys: dict[str, Ed25519PublicKey] = {}
        for path in key_folder.glob(f"{producer}*.pub"):
            key = serialization.load_pem_public_key(path.read_bytes())
            assert isinstance(key, Ed25519PublicKey)
            raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            keys[hashlib.sha256(raw).hexdigest()[:16]] = key
        events: dict[int, dict[str, Any]] = {}
        for value in values:
            envelope = json.loads(value)
            content = {name: item for name, item in envelope.items() if name != "hash"}
            if hashlib.sha256(rfc8785.dumps(content)).hexdigest() != envelope["hash"]:
                faults.add((producer, envelope["log_position"], "tampered"))
            events.setdefault(envelope["log_position"], envelope)
        previous = "0" * 64
        for position in range(1, max(events) + 1):
            envelope = events.get(position)
            if envelope is None:
                faults.add((producer, position, "missing"))
                continue
            if envelope["prev_hash"] != previous:
                faults.add((producer, position, "broken_link"))
            previous = envelope["hash"]
            if envelope["event_type"] == "ChainCheckpoint":
                payload = envelope["payload"]
                message = rfc8785.dumps(
                    {
                        "producer": producer,
                        "head_position": payload["head_position"],
                        "head_hash": payload["head_hash"],
                        "signed_at": payload["signed_at"],
                    }
                )
                try:
                    keys[payload["key_id"]].verify(base64.b64decode(payload["signature"]), message)
                    head = events.get(payload["head_position"])
                    if head is None or head["hash"] != payload["head_hash"]:
                        faults.add((producer, position, "forged_checkpoint"))
                except (KeyError, InvalidSignature):
                    faults.add((producer, position, "forged_checkpoint"))
    return faults


# --- the JavaScript verifier ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def javascript_verifier() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node and npm are needed for the JavaScript verifier in CI")
        pytest.skip("node and npm are not installed: the JavaScript verifier cannot run")
    installed = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=JAVASCRIPT, capture_output=True, timeout=600
    )
    assert installed.returncode == 0, installed.stderr.decode()[-3000:]
    return JAVASCRIPT / "verify.mjs"


def node(verifier: Path, *arguments: str) -> tuple[int, dict[str, Any]]:
    completed = subprocess.run(["node", str(verifier), *arguments], capture_output=True, timeout=180)
    assert completed.stdout, completed.stderr.decode()[-3000:]
    return completed.returncode, json.loads(completed.stdout)


def faults_of(report: dict[str, Any]) -> set[Fault]:
    return {(fault["producer"], fault["log_position"], fault["kind"]) for fault in report["faults"]}


def random_json_values(count: int, seed: int) -> list[Any]:
    """Doubles from random bit patterns (every exponent), strings of random code points (controls,
    U+2028, beyond U+FFFF; no surrogates), objects with such keys (UTF-16 order) holding both."""
    chooser = random.Random(seed)

    def double() -> float:
        while True:
            value: float = struct.unpack(">d", chooser.getrandbits(64).to_bytes(8, "big"))[0]
            if math.isfinite(value):
                return value

    def text() -> str:
        points = [
            chooser.choice(
                (
                    chooser.randrange(0x20),
                    chooser.randrange(0x20, 0xD800),
                    chooser.randrange(0xE000, 0x110000),
                )
            )
            for _ in range(chooser.randrange(8))
        ]
        return "".join(map(chr, points))

    values: list[Any] = []
    for _ in range(count):
        kind = chooser.randrange(4)
        if kind == 0:
            values.append(double())
        elif kind == 1:
            values.append(float(round(double() % 1e6)))  # integral floats
        elif kind == 2:
            values.append(text())
        else:
            values.append(
                {text(): chooser.choice([double(), text(), [double(), None, True]]) for _ in range(4)}
            )
    return values


def test_our_canonical_bytes_equal_the_javascript_canonicalize_on_random_values(
    javascript_verifier: Path,
) -> None:
    """ECMAScript's own number formatting and UTF-16 ordering (V8, through npm ``canonicalize``) against
    ours, value by value: a check independent of the Python reference."""
    values = random_json_values(4000, seed=8785)
    script = (
        "import canonicalize from 'canonicalize'; let input = '';"
        "process.stdin.on('data', (chunk) => { input += chunk; });"
        "process.stdin.on('end', () => { process.stdout.write(JSON.stringify(JSON.parse(input).map(canonicalize))); });"
    )
    completed = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        input=json.dumps(values).encode(),  # ASCII, doubles as their shortest round-trip digits
        capture_output=True,
        cwd=javascript_verifier.parent,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr.decode()[-3000:]
    theirs = json.loads(completed.stdout)
    assert len(theirs) == len(values)
    for value, expected in zip(values, theirs, strict=True):
        assert canonical_json_of_decoded(value) == expected.encode(), value


# --- tampered copies ------------------------------------------------------------------------------------


def write_bundle(source: Path, target: Path, records: dict[str, list[bytes]]) -> None:
    """``source`` with other records, its manifest's digests updated as a forger would."""
    with zipfile.ZipFile(source) as original:
        manifest = json.loads(original.read("manifest.json"))
        parts = {name: original.read(name) for name in original.namelist()}
    for part in manifest["parts"]:
        if part["kind"] != "records":
            continue
        lines = [json.loads(line) for line in parts[part["path"]].splitlines() if line]
        for line, value in zip(lines, records[part["producer"]], strict=True):
            line["value"] = base64.b64encode(value).decode()
        data = b"".join(orjson.dumps(line) + b"\n" for line in lines)
        parts[part["path"]] = data
        part["sha256"], part["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    parts["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w") as copy:
        for name, data in parts.items():
            copy.writestr(name, data)


def triage_with_similarity(records: dict[str, list[bytes]]) -> int:
    return next(
        index
        for index, value in enumerate(records["analysis"])
        if b'"ProposalTriaged"' in value and json.loads(value)["payload"]["similar"]
    )


def tampered(real_log: RealLog) -> tuple[Path, Fault]:
    """The copy an insider makes: one triage decision's similarity changed in the bundle."""
    records = {producer: list(values) for producer, values in real_log.records.items()}
    index = triage_with_similarity(records)
    envelope = json.loads(records["analysis"][index])
    envelope["payload"]["similar"][0]["similarity"] = 0.25
    records["analysis"][index] = rfc8785.dumps(envelope)
    target = real_log.folder / "tampered-bundle.zip"
    write_bundle(real_log.bundle, target, records)
    return target, ("analysis", envelope["log_position"], "tampered")


# --- tests ----------------------------------------------------------------------------------------------


def test_the_real_log_has_both_producers_a_campaign_an_exact_duplicate_and_checkpoints(
    real_log: RealLog,
) -> None:
    envelopes = {
        producer: [json.loads(value) for value in values] for producer, values in real_log.records.items()
    }
    triaged = [item["payload"] for item in envelopes["analysis"] if item["event_type"] == "ProposalTriaged"]
    assert len(triaged) == 6
    assert len({payload["campaign_id"] for payload in triaged if payload["campaign_id"]}) == 1
    assert sum(1 for payload in triaged if payload["campaign_id"]) >= 3
    assert any(payload["exact_duplicate_of"] or payload["exact_duplicates"] for payload in triaged)
    assert any(similar["similarity"] for payload in triaged for similar in payload["similar"])
    # the exact duplicate is similar to its original by 1.0, a float JCS writes as 1 (orjson wrote 1.0)
    assert any(
        b'"similarity":1}' in value or b'"similarity":1,' in value for value in real_log.records["analysis"]
    )
    for producer in ("submission", "analysis"):
        assert any(item["event_type"] == "ChainCheckpoint" for item in envelopes[producer])


def test_the_reference_canonicalizer_verifies_the_real_log_and_refuses_the_tampered_copy(
    real_log: RealLog,
) -> None:
    assert reference_verify(real_log.records, real_log.keys.directory) == set()
    copy, fault = tampered(real_log)
    assert fault in reference_verify(bundle_records(copy), real_log.keys.directory)


def test_the_javascript_verifier_verifies_the_real_log_from_the_topics_and_from_the_bundle(
    real_log: RealLog, javascript_verifier: Path, kafka_bootstrap: str
) -> None:
    topics = ("--bootstrap", kafka_bootstrap, "--namespace", real_log.system.namespace)
    code, from_topics = node(javascript_verifier, *topics, "--keys", str(real_log.keys.directory))
    assert (code, from_topics["faults"]) == (0, [])
    code, from_bundle = node(javascript_verifier, "--bundle", str(real_log.bundle))
    assert (code, from_bundle["faults"]) == (0, [])
    _, ours = aireg("audit", "verify", "--bundle", str(real_log.bundle))
    for producer in ("submission", "analysis"):
        expected = ours["producers"][producer]
        for report in (from_topics, from_bundle):
            found = report["producers"][producer]
            assert (found["events"], found["head_position"], found["head_hash"]) == (
                expected["events"],
                expected["head_position"],
                expected["head_hash"],
            )
            assert found["checkpoints_verified"] == expected["checkpoints_verified"] >= 1


def test_a_tampered_copy_is_refused_by_both_verifiers_with_the_position_named(
    real_log: RealLog, javascript_verifier: Path
) -> None:
    copy, fault = tampered(real_log)
    code, ours = aireg("audit", "verify", "--bundle", str(copy))
    assert code == 1 and fault in faults_of(ours), ours["faults"]
    code, theirs = node(javascript_verifier, "--bundle", str(copy))
    assert code == 1 and fault in faults_of(theirs), theirs["faults"]


def test_the_export_round_trips_and_a_changed_part_is_named(real_log: RealLog, kafka_bootstrap: str) -> None:
    code, report = aireg("audit", "verify", "--bundle", str(real_log.bundle))
    assert (code, report["faults"], report["source"]) == (0, [], "bundle")
    assert report["records"] == sum(len(values) for values in real_log.records.values())
    again = real_log.folder / "again.zip"
    code, _ = aireg(
        "audit",
        "export",
        "--out",
        str(again),
        "--keys",
        str(real_log.keys.directory),
        "--bootstrap",
        kafka_bootstrap,
        "--namespace",
        real_log.system.namespace,
    )
    exported_again = bundle_records(again)  # the bytes as the broker holds them (partitions interleave)
    assert code == 0
    assert {producer: sorted(values) for producer, values in exported_again.items()} == {
        producer: sorted(values) for producer, values in real_log.records.items()
    }
    changed = real_log.folder / "changed-part.zip"
    with zipfile.ZipFile(real_log.bundle) as original, zipfile.ZipFile(changed, "w") as copy:
        for name in original.namelist():
            data = original.read(name)
            copy.writestr(
                name, data.replace(b'"offset":0,', b'"offset":9,', 1) if "submission" in name else data
            )
    code, report = aireg("audit", "verify", "--bundle", str(changed))
    assert code == 1
    assert ("bundle", 0, "bundle_mismatch") in faults_of(report)


def test_a_log_hashed_under_the_old_canonical_form_is_refused_as_such(real_log: RealLog) -> None:
    records = {producer: list(values) for producer, values in real_log.records.items()}
    index = triage_with_similarity(records)
    envelope = json.loads(records["analysis"][index])
    for similar in envelope["payload"]["similar"]:
        similar["similarity"] = float(similar["similarity"])
    envelope["payload"]["similar"][0]["similarity"] = 1.0  # orjson wrote 1.0 where JCS writes 1
    rest = {name: item for name, item in envelope.items() if name != "hash"}
    envelope["hash"] = hashlib.sha256(orjson.dumps(rest, option=orjson.OPT_SORT_KEYS)).hexdigest()
    records["analysis"][index] = orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS)
    copy = real_log.folder / "old-format.zip"
    write_bundle(real_log.bundle, copy, records)
    code, report = aireg("audit", "verify", "--bundle", str(copy))
    assert code == 1
    assert ("analysis", envelope["log_position"], "old_format") in faults_of(report), report["faults"]
    detail = next(fault["detail"] for fault in report["faults"] if fault["kind"] == "old_format")
    assert "before RFC 8785" in detail
