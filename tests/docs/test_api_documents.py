"""The contract documents committed under docs/api/ are what the code generates now (`make docs` writes them
with the same functions): a route, a schema or an event changed without `make docs` fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from aireg_cli.documents import document_text, openapi_document
from aireg_events.asyncapi import asyncapi_document

API = Path(__file__).resolve().parents[2] / "docs" / "api"


@pytest.mark.parametrize("service", ["submission", "analysis", "reporting"])
def test_openapi_document_is_the_committed_one(service: str) -> None:
    committed = (API / f"{service}.openapi.json").read_text(encoding="utf-8")
    assert document_text(openapi_document(service)) == committed, f"run `make docs`: {service} drifted"


def test_asyncapi_document_is_the_committed_one() -> None:
    committed = (API / "asyncapi.json").read_text(encoding="utf-8")
    assert document_text(asyncapi_document()) == committed, "run `make docs`: the event catalogue drifted"


def test_operation_ids_are_readable_names() -> None:
    for service in ("submission", "analysis", "reporting"):
        for path, operations in openapi_document(service)["paths"].items():
            for method, operation in operations.items():
                assert operation["operationId"].isidentifier(), (service, method, path)
                assert "_v1_" not in operation["operationId"], (service, method, path)
