"""``aireg``: the command line of docs/contract.md."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aireg_cli.audit.commands import audit
from aireg_cli.keys import ensure_keys
from aireg_cli.options import Bootstrap, Namespace
from aireg_cli.up import parse_ports, run_up
from aireg_cli.wording import choose, say, words
from aireg_events.signing import load_private_key
from aireg_http.auth import ROLES, issue_token
from aireg_http.messages import Language
from aireg_http.version import release

app = typer.Typer(
    help="aireg: calls for proposals on AI regulation, with an audit trail.", no_args_is_help=True
)
tokens = typer.Typer(help="Bearer tokens for portals, staff, dashboards and auditors.", no_args_is_help=True)
keys = typer.Typer(help="Ed25519 key pairs (token issuer, producers' signing keys).", no_args_is_help=True)
app.add_typer(tokens, name="tokens")
app.add_typer(keys, name="keys")
app.add_typer(audit, name="audit")

console = Console()
err = Console(stderr=True)

DEFAULT_KEYS = Path("var/keys")


def _print_version(asked: bool) -> None:
    if asked:
        sys.stdout.write(f"aireg {release('aireg-cli')}\n")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the release and exit"),
    ] = False,
    lang: Annotated[
        Language | None,
        typer.Option(
            "--lang",
            help="the language of the output people read, ru or en (default: AIREG_LANG, then the locale)",
        ),
    ] = None,
) -> None:
    """aireg: calls for proposals on AI regulation, with an audit trail."""
    choose(lang)


KeysOption = Annotated[Path, typer.Option("--keys", envvar="AIREG_KEYS_DIR", help="folder of the key pairs")]


@app.command()
def up(
    var_dir: Annotated[Path, typer.Option("--var", help="state folder: SQLite files, keys, logs")] = Path(
        "var"
    ),
    ports: Annotated[str | None, typer.Option(help="submission,analysis,reporting ports")] = None,
    demo_call: Annotated[
        bool,
        typer.Option(
            "--demo-call/--no-demo-call",
            help="seed the demo consultation with a realistic call: proposals, a campaign, reviews, "
            "measures and a submitted package",
        ),
    ] = True,
) -> None:
    """Run the whole system on the embedded defaults (broker, three services, SQLite under ./var/)."""
    from aireg_cli.audit.old_logs import old_format_logs

    old = old_format_logs(var_dir)
    if old:
        for log in old:
            positions = ", ".join(str(position) for position in log.positions)
            err.print(
                f"{log.database}: events hashed under the canonical JSON before RFC 8785 (format 1), "
                f"at positions {positions}..."
            )
        err.print(
            f"{var_dir} was written by a version before 2026-12, whose logs this one refuses (docs/architecture.md, "
            f"Rebuild and audit). There is no production data of that format: move {var_dir} aside and run again."
        )
        raise typer.Exit(2)
    raise typer.Exit(run_up(var_dir, parse_ports(ports), console, demo_call=demo_call))


@tokens.command("issue")
def tokens_issue(
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")],
    name: Annotated[str, typer.Option(help="who the token is for (a portal's name for role portal)")],
    organization: Annotated[
        str | None, typer.Option(help="ministry or analytical_center for reviewers")
    ] = None,
    ttl_days: Annotated[int, typer.Option(help="days until the token expires")] = 90,
    as_json: Annotated[bool, typer.Option("--json", help='print {"token": ...}')] = False,
    keys_dir: KeysOption = DEFAULT_KEYS,
) -> None:
    """Issue a signed token (prints it)."""
    if role not in ROLES:
        err.print(say("unknown_role", role=role, roles=", ".join(ROLES)))
        raise typer.Exit(2)
    ring = ensure_keys(keys_dir)
    try:
        token = issue_token(
            load_private_key(ring.token_private),
            role=role,
            name=name,
            organization=organization,
            ttl_seconds=ttl_days * 86400,
        )
    except ValueError as error:
        err.print(str(error))
        raise typer.Exit(2) from error
    sys.stdout.write((json.dumps({"token": token}) if as_json else token) + "\n")


@tokens.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="the token's id (its jti claim)")],
    keys_dir: KeysOption = DEFAULT_KEYS,
) -> None:
    """Revoke a token: every service refuses it from then on."""
    ring = ensure_keys(keys_dir)
    with ring.revoked_tokens.open("a") as handle:
        handle.write(token_id + "\n")
    console.print(say("revoked", token=token_id))


@keys.command("create")
def keys_create(
    directory: Annotated[Path, typer.Argument(help="where to write the key pairs")] = DEFAULT_KEYS,
) -> None:
    """Create the missing key pairs (token issuer, submission and analysis signing keys)."""
    ring = ensure_keys(directory)
    for path in sorted(ring.directory.glob("*")):
        console.print(str(path))


@app.command()
def rebuild(
    service: Annotated[str, typer.Argument(help="submission, analysis or reporting")],
    bootstrap: Bootstrap,
    database_url: Annotated[
        str | None,
        typer.Option(envvar="DATABASE_URL", help="the service's database (default: var/SERVICE.db)"),
    ] = None,
    namespace: Namespace = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Drop a service's state and rebuild it (from its own log and inbox; reporting from the topics);
    prints the digests before and after. Stop the service first."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from aireg_cli.rebuild import run_rebuild

    if service not in ("submission", "analysis", "reporting"):
        err.print(say("unknown_service", service=service))
        raise typer.Exit(2)
    url = database_url or f"sqlite+aiosqlite:///{Path('var').resolve() / (service + '.db')}"
    settings = _service_settings(service, url, bootstrap, namespace)
    with Progress(
        TextColumn(f"[bold]{say('rebuilding', service=service)}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("rebuild", total=None)
        result = run_rebuild(
            service, settings, lambda done, total: progress.update(task, completed=done, total=total)
        )
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        console.print(say("digest_before", service=service, digest=result.digest_before))
        console.print(say("digest_after", service=service, digest=result.digest_after))
        verdict = say("identical") if result.identical else say("different")
        if result.events is None:
            console.print(say("rebuilt", verdict=verdict))
        else:
            events = words().plural("events", result.events)
            console.print(say("rebuilt_from", events=events, verdict=verdict))
    raise typer.Exit(0 if result.identical else 1)


def _service_settings(service: str, database_url: str, bootstrap: str, namespace: str) -> object:
    """The service's own settings class, with what a rebuild needs (keys are not used by a rebuild)."""
    import importlib

    module = importlib.import_module(f"aireg_{service}.settings")
    placeholder = Path(os.devnull)
    extra = {} if service == "reporting" else {"signing_key_file": placeholder}
    return module.Settings(
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        topic_namespace=namespace,
        token_public_key_file=placeholder,
        **extra,
    )


OutOption = Annotated[
    Path | None, typer.Option("--out", help="write the document to this file instead of stdout")
]


@app.command()
def openapi(
    service: Annotated[str, typer.Argument(help="submission, analysis or reporting")], out: OutOption = None
) -> None:
    """Print a service's OpenAPI document (docs/api/SERVICE.openapi.json: `make docs`)."""
    from aireg_cli.documents import document_text, openapi_document

    try:
        document = openapi_document(service)
    except KeyError as error:
        err.print(say("unknown_service", service=service))
        raise typer.Exit(2) from error
    _write(document_text(document), out)


@app.command()
def asyncapi(out: OutOption = None) -> None:
    """Print the AsyncAPI document of the event catalogue (docs/api/asyncapi.json: `make docs`)."""
    from aireg_cli.documents import document_text
    from aireg_events.asyncapi import asyncapi_document

    _write(document_text(asyncapi_document()), out)


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    app()
