"""The analysis service's contract documents: every route declares its error answers with their machine
codes, the paths are those of docs/contract.md, and the migrations build exactly the tables the code uses."""

from __future__ import annotations

import inspect
from typing import Any, cast

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from aireg_analysis import domain, measures
from aireg_analysis.app import MIGRATIONS, create_app
from aireg_analysis.settings import Settings
from aireg_analysis.tables import metadata
from aireg_cli.keys import KeyRing
from aireg_events.log.database import open_database
from aireg_events.log.migrations import upgrade_to_head
from aireg_events.log.tables import LOG_METADATA
from aireg_events.rules import RuleViolation

RULES: list[type[RuleViolation]] = [
    rule
    for module in (domain, measures)
    for _, rule in inspect.getmembers(module, inspect.isclass)
    if issubclass(rule, RuleViolation) and rule is not RuleViolation
]
"""Every refusal the analysis rules can give."""


@pytest.fixture(scope="module")
def openapi(keys: KeyRing) -> dict[str, Any]:
    settings = Settings(
        database_url="sqlite+aiosqlite:///:memory:",
        token_public_key_file=keys.token_public,
        signing_key_file=keys.signing_private("analysis"),
    )
    document: dict[str, Any] = create_app(settings).openapi()
    return document


def test_the_contract_paths_are_served(openapi: dict[str, Any]) -> None:
    paths = openapi["paths"]
    for path, method in [
        ("/v1/queue", "get"),
        ("/v1/proposals/{proposal_id}/assignments", "post"),
        ("/v1/proposals/{proposal_id}/reviews", "post"),
        ("/v1/proposals/{proposal_id}/assessment", "post"),
        ("/v1/packages", "post"),
        ("/v1/packages/{package_id}/items", "post"),
        ("/v1/packages/{package_id}/submission", "post"),
        ("/v1/packages/{package_id}/measures", "post"),
        ("/v1/measures", "post"),
        ("/v1/measures", "get"),
        ("/v1/measures/{measure_id}", "get"),
        ("/v1/measures/{measure_id}/evidence", "post"),
        ("/v1/measures/{measure_id}/revision", "post"),
        ("/v1/measures/{measure_id}/decision", "post"),
        ("/v1/events", "get"),
    ]:
        assert method in paths[path], f"{method.upper()} {path}"


def test_every_route_declares_its_error_answers(openapi: dict[str, Any]) -> None:
    for path, operations in openapi["paths"].items():
        if not path.startswith("/v1/") or path == "/v1/events":
            continue
        for method, operation in operations.items():
            declared = set(operation["responses"])
            assert {"401", "403", "422"} <= declared, f"{method.upper()} {path} declares {sorted(declared)}"
            if method != "get" or "{" in path:
                text = " ".join(response["description"] for response in operation["responses"].values())
                assert any(rule.code in text for rule in RULES), f"{method.upper()} {path} declares no rule"
            for status in declared - {"200", "201"}:
                reference = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                schema = openapi["components"]["schemas"][reference.rsplit("/", 1)[1]]
                assert {"error", "detail"} <= set(schema["properties"]), f"{method.upper()} {path} {status}"


def test_every_rule_of_the_domain_is_documented_on_a_route_with_its_status(openapi: dict[str, Any]) -> None:
    documented: dict[str, set[str]] = {}
    for operations in openapi["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                for code in response["description"].replace(";", ",").split(","):
                    documented.setdefault(code.strip(), set()).add(status)
    assert len(RULES) > 20
    status_of = {"conflict": "409", "invalid": "422", "forbidden": "403", "not_found": "404"}
    for rule in RULES:
        assert status_of[rule.kind] in documented.get(rule.code, set()), f"{rule.code} is not documented"


async def test_the_migrations_build_the_tables_the_code_uses(database_url: str) -> None:
    database = open_database(database_url)
    try:
        await upgrade_to_head(database, MIGRATIONS)

        def differences(connection: Connection) -> list[Any]:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            found: list[Any] = compare_metadata(context, cast(Any, [metadata, LOG_METADATA]))
            return found

        async with database.writer.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await database.dispose()
