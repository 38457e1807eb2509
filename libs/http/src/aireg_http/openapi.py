"""The answers every route may give because of the shared conventions, written into each service's
OpenAPI document so that it tells clients the whole truth: 400 for a body that is not JSON, 408 for one
that does not arrive in time, 413 for one over the limit, 422 for a NUL in the URL, 429 over a rate limit,
503 when the service sheds load, times out or cannot reach its database. A route's own description of a
status is kept, and the conventions' answer is added to it unless it names the same code already, and FastAPI's default 422 schema (which no aireg answer has) is replaced by the error body.

Each operation's id is its route function's name (``submit_proposal``), so that a client generator makes
readable methods from it; two routes of one service with the same name are refused when the document is
built."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from aireg_http.errors import ErrorBody

ERROR_SCHEMA = ErrorBody.__name__
UNLIMITED_PATHS = frozenset({"/health", "/metrics"})

_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before a retry", "schema": {"type": "integer"}}
}


def _answer(description: str, *, retry: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}},
    }
    if retry:
        answer["headers"] = _RETRY_AFTER
    return answer


def _shared_answers(path: str, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if path in UNLIMITED_PATHS:
        return {"503": _answer("`database_unavailable`: the database cannot answer now", retry=True)}
    answers = {
        "429": _answer("`rate_limited`: over this token's (or address's) budget of requests", retry=True),
        "503": _answer(
            "`overloaded`: too many requests in progress; `request_timeout`: no answer in time; "
            "`database_unavailable`: the database cannot answer now (retry: a command is recorded whole "
            "or not at all)",
            retry=True,
        ),
    }
    if operation.get("parameters") or "requestBody" in operation:
        answers["422"] = _answer("`validation_failed`: invalid input (a NUL in the URL, a field error)")
    if "requestBody" in operation:
        answers["400"] = _answer("`malformed_body`: the body is not JSON in UTF-8")
        answers["413"] = _answer("`payload_too_large`: the body is over the limit (1 MiB unless configured)")
        answers["408"] = _answer("`body_timeout`: the body did not arrive whole in time")
    return answers


def _error_schemas() -> dict[str, Any]:
    """The error body's JSON schema and those it refers to, as components."""
    schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = schema.pop("$defs", {})
    components[ERROR_SCHEMA] = schema
    return components


def _complete(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in _error_schemas().items():
        schemas.setdefault(name, schema)
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, answer in _shared_answers(path, operation).items():
                own = responses.setdefault(status, answer)
                code = answer["description"].split("`")[1]
                if own is not answer and code not in own.get("description", ""):
                    # the route's own answer, and the conventions' beside it
                    own["description"] = f"{own.get('description', '')}; or {answer['description']}"
                    if "headers" in answer:
                        own.setdefault("headers", answer["headers"])
            content = responses.get("422", {}).get("content", {}).get("application/json", {})
            if content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                content["schema"] = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}


def operation_id(route: APIRoute) -> str:
    """An operation's id: its route function's name."""
    return route.name


def _refuse_duplicate_ids(document: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            name, where = operation.get("operationId", ""), f"{method.upper()} {path}"
            if name in seen:
                raise ValueError(f"two operations named {name!r}: {seen[name]} and {where}")
            seen[name] = where


def document_shared_answers(app: FastAPI) -> None:
    """Make ``app.openapi()`` add the shared answers to the document FastAPI generates (once), and name
    the operations of the routes included from now on by their functions (refusing two of one name)."""
    app.router.generate_unique_id_function = operation_id
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            _refuse_duplicate_ids(document)
            _complete(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
