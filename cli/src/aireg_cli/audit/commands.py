"""``aireg audit ...``: the auditor's commands (verify, export, history, receipt)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from aireg_cli.audit.bundle import BundleError, BundleSummary, export_bundle, open_bundle
from aireg_cli.audit.history import HistoryEntry, proposal_history
from aireg_cli.audit.receipts import check_receipt, load_receipt
from aireg_cli.audit.verify import AuditReport, http_feed_fetcher, verify, verify_bundle
from aireg_cli.keys import KeyRing
from aireg_cli.options import Bootstrap, KeysDir, Namespace
from aireg_cli.wording import say, words
from aireg_events.canonical import format_timestamp, parse_timestamp
from aireg_events.signing import Ed25519PublicKey, key_id, load_private_key, load_public_key
from aireg_events.topics import PRODUCER_TOPICS, Topics
from aireg_http.auth import issue_token

audit = typer.Typer(
    help="Replay the log, prove it whole, rebuild any decision's history.", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)


def _progress(label: str, quiet: bool) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
        transient=True,
    )


def _tracker(progress: Progress, label: str) -> Callable[[int, int], None]:
    task = progress.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return update


def _public_keys(keys_dir: Path) -> dict[str, list[Ed25519PublicKey]]:
    ring = KeyRing(keys_dir)
    return {
        producer: [load_public_key(path) for path in ring.signing_publics(producer)]
        for producer in PRODUCER_TOPICS
    }


def _bundle_keys(pems: dict[str, list[bytes]]) -> dict[str, list[Ed25519PublicKey]]:
    keys: dict[str, list[Ed25519PublicKey]] = {}
    for producer, items in pems.items():
        for pem in items:
            key = load_pem_public_key(pem)
            if isinstance(key, Ed25519PublicKey):
                keys.setdefault(producer, []).append(key)
    return keys


@audit.command("verify")
def verify_command(
    bootstrap: Bootstrap,
    namespace: Namespace = "",
    keys_dir: Annotated[
        Path | None,
        typer.Option(
            "--keys",
            envvar="AIREG_KEYS_DIR",
            help="folder of the producers' public keys (default var/keys; with --bundle, the bundle's own)",
        ),
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option(help="verify this offline bundle (`aireg audit export`): no broker, no service"),
    ] = None,
    submission_url: Annotated[
        str, typer.Option(help="the submission service, for its feed")
    ] = "http://127.0.0.1:8001",
    analysis_url: Annotated[
        str, typer.Option(help="the analysis service, for its feed")
    ] = "http://127.0.0.1:8002",
    token: Annotated[
        str | None,
        typer.Option(envvar="AIREG_AUDITOR_TOKEN", help="an auditor token (default: issued from --keys)"),
    ] = None,
    feeds: Annotated[bool, typer.Option(help="compare each service's feed with its topic")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable report")] = False,
) -> None:
    """Replay both topics from offset 0 (or read a bundle) and verify chains, positions, stream versions,
    causation, checkpoints and feeds; exit 0 only if all holds."""
    if bundle is not None:
        report = _verify_bundle_file(bundle, keys_dir)
    else:
        report = _verify_topics(
            bootstrap,
            namespace,
            keys_dir or Path("var/keys"),
            submission_url,
            analysis_url,
            token,
            feeds,
            as_json,
        )
    _print_report(report, as_json)
    raise typer.Exit(0 if report.ok else 1)


def _verify_bundle_file(path: Path, keys_dir: Path | None) -> AuditReport:
    try:
        opened = open_bundle(path)
    except BundleError as error:
        err.print(str(error))
        raise typer.Exit(2) from error
    try:
        public_keys = _public_keys(keys_dir) if keys_dir else _bundle_keys(opened.public_keys())
        if keys_dir is None:
            err.print(
                "checkpoints are checked against the keys inside the bundle: compare their ids (below, "
                "and in --json's key_ids) with the producers' keys you hold, or pass --keys DIR"
            )
        return asyncio.run(verify_bundle(opened, public_keys))
    finally:
        opened.close()


def _verify_topics(
    bootstrap: str,
    namespace: str,
    keys_dir: Path,
    submission_url: str,
    analysis_url: str,
    token: str | None,
    feeds: bool,
    as_json: bool,
) -> AuditReport:
    ring = KeyRing(keys_dir)
    public_keys = _public_keys(keys_dir)
    if feeds and token is None:
        if not ring.token_private.exists():
            err.print(say("token_needed"))
            raise typer.Exit(2)
        token = issue_token(load_private_key(ring.token_private), role="auditor", name="aireg-audit")

    async def run() -> AuditReport:
        with _progress(say("reading_topics"), as_json) as progress:
            if not feeds:
                return await verify(
                    bootstrap, Topics(namespace), public_keys, progress=_tracker(progress, "read")
                )
            async with httpx.AsyncClient(timeout=30) as client:
                fetch = http_feed_fetcher(
                    {"submission": submission_url, "analysis": analysis_url}, token or "", client
                )
                return await verify(
                    bootstrap, Topics(namespace), public_keys, feed=fetch, progress=_tracker(progress, "read")
                )

    return asyncio.run(run())


def _print_report(report: AuditReport, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        table = Table(
            title=say(
                "audit_title", records=report.records, source=report.source, seconds=f"{report.seconds:.1f}"
            )
        )
        for column in ("producer", "topic", "records", "events", "head", "head_hash", "checkpoints", "feed"):
            table.add_column(say(f"column_{column}"))
        for summary in report.producers.values():
            table.add_row(
                summary.producer,
                summary.topic,
                str(summary.records),
                str(summary.events),
                str(summary.head_position),
                summary.head_hash[:16],
                str(summary.checkpoints_verified),
                "-" if summary.feed_events is None else str(summary.feed_events),
            )
        console.print(table)
        for producer, ids in report.key_ids.items():
            console.print(say("checkpoint_keys", producer=producer, key_ids=", ".join(ids) or "-"))
        if report.ok:
            console.print(say("all_holds" if report.source == "broker" else "all_holds_without_feeds"))
        else:
            console.print(say("faults", count=len(report.faults)))
            for fault in report.faults:
                console.print(
                    say(
                        "fault_line",
                        producer=fault.producer,
                        position=fault.log_position,
                        kind=fault.kind,
                        detail=fault.detail,
                    )
                )


@audit.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="the bundle file to write (a zip)")],
    bootstrap: Bootstrap,
    namespace: Namespace = "",
    keys_dir: KeysDir = Path("var/keys"),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Write an offline audit bundle: both topics' records as received, the producers' public keys, and
    a manifest with the SHA-256 of each part (`aireg audit verify --bundle FILE` reads it)."""
    ring = KeyRing(keys_dir)
    publics = {producer: ring.signing_publics(producer) for producer in PRODUCER_TOPICS}
    if not any(publics.values()):
        err.print(say("no_public_keys", folder=keys_dir))
        raise typer.Exit(2)

    async def run() -> BundleSummary:
        with _progress("exporting", as_json) as progress:
            return await export_bundle(
                bootstrap, Topics(namespace), publics, out, progress=_tracker(progress, "read")
            )

    summary = asyncio.run(run())
    if as_json:
        sys.stdout.write(json.dumps(summary.to_json(), indent=2) + "\n")
    else:
        for producer, count in summary.records.items():
            console.print(say("bundle_records", producer=producer, count=count))
        console.print(say("bundle_keys", keys=", ".join(summary.keys)))
        console.print(say("bundle_written", path=summary.path))


@audit.command("history")
def history_command(
    proposal_id: Annotated[str, typer.Argument(help="the proposal's id")],
    bootstrap: Bootstrap,
    as_of: Annotated[str | None, typer.Option("--as-of", help="a moment with a time zone (ISO 8601)")] = None,
    namespace: Namespace = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The full decision history of one proposal, as of a moment."""
    moment: datetime | None = None
    if as_of is not None:
        try:
            moment = parse_timestamp(as_of)
        except ValueError as error:
            err.print(say("as_of_needed", error=error))
            raise typer.Exit(2) from error

    async def run() -> list[HistoryEntry]:
        with _progress(say("reading_topics"), as_json) as progress:
            return await proposal_history(
                bootstrap, Topics(namespace), proposal_id, as_of=moment, progress=_tracker(progress, "read")
            )

    entries = asyncio.run(run())
    if as_json:
        sys.stdout.write(json.dumps([entry.to_json() for entry in entries], indent=2) + "\n")
    else:
        when = say("history_as_of", moment=format_timestamp(moment)) if moment else ""
        events = words().plural("events", len(entries))
        console.print(say("history_heading", proposal=proposal_id, as_of=when, events=events))
        for entry in entries:
            item = entry.to_json()
            actor = item["actor"]
            who = actor["name"] + (f" ({actor['organization']})" if actor.get("organization") else "")
            console.print(
                f"{item['occurred_at']}  {item['event_type']:<30} {actor['role']}:{who}\n"
                f"    {item['summary']}\n"
                + say(
                    "history_event",
                    event=item["event_id"],
                    producer=item["producer"],
                    position=item["log_position"],
                )
            )
    raise typer.Exit(0 if entries else 1)


@audit.command("receipt")
def receipt_command(
    file: Annotated[Path, typer.Argument(help="the receipt (or the whole 201 answer) as JSON")],
    bootstrap: Bootstrap,
    namespace: Namespace = "",
    keys_dir: KeysDir = Path("var/keys"),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Verify a submitter's signed receipt: signature, the event in the log, received before the deadline."""
    try:
        receipt = load_receipt(file.read_bytes())
    except (OSError, ValueError) as error:
        err.print(say("receipt_unreadable", file=file, error=error))
        raise typer.Exit(2) from error
    publics = [load_public_key(path) for path in KeyRing(keys_dir).signing_publics("submission")]
    if not publics:
        err.print(say("receipt_no_key", folder=keys_dir))
        raise typer.Exit(2)
    public = next((key for key in publics if key_id(key) == receipt.key_id), publics[0])
    check = asyncio.run(check_receipt(receipt, public, bootstrap, Topics(namespace)))
    if as_json:
        sys.stdout.write(json.dumps(check.to_json(), indent=2) + "\n")
    else:
        mark = say("receipt_valid") if check.ok else say("receipt_not_valid")
        console.print(
            say(
                "receipt_heading",
                number=receipt.registration_number,
                proposal=receipt.proposal_id,
                verdict=mark,
            )
        )
        console.print(
            say(
                "receipt_signature", verdict=say("signature_ok" if check.signature_valid else "signature_bad")
            )
        )
        console.print(
            say("receipt_in_log", position=receipt.log_position, verdict=say("yes" if check.in_log else "no"))
        )
        if check.before_deadline is not None:
            verdict = say("before" if check.before_deadline else "after")
            console.print(
                say(
                    "receipt_received",
                    received=receipt.received_at.isoformat(),
                    verdict=verdict,
                    deadline=check.deadline,
                )
            )
        for problem in check.problems:
            console.print(f"  [red]![/] {problem}")
    raise typer.Exit(0 if check.ok else 1)
