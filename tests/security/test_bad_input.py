"""Bad input of every kind gets a clear 4xx (a JSON error with a machine code and a sentence, never a
trace) and records nothing: every producer's log is where it was before.

The kinds: unknown fields, wrong types, NUL characters (PostgreSQL text cannot hold them), lone UTF-16
surrogates (no UTF-8 encoder can write them), huge arrays, deeply nested JSON, invalid UTF-8, dates
without a time zone, numbers out of every range, bodies over 1 MiB (413), and the same in paths, query
strings and headers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.security.conftest import Target, feed_head, json_of
from tests.support.system import consultation_body, proposal_body
from tests.support.tokens import TokenFactory

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

MIB = 1024 * 1024


@dataclass
class Attempt:
    name: str
    service: str
    method: str
    path: str
    role: str
    body: Any = None
    """JSON to send (``content`` wins when both are given)."""
    content: bytes | Callable[[], Iterator[bytes]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    expected: tuple[int, ...] = (422,)


def with_submitter(**changes: Any) -> dict[str, Any]:
    body = proposal_body("Bad input")
    body["submitter"] = {**body["submitter"], **changes}
    return body


def nested(depth: int) -> bytes:
    return b'{"title": ' + b"[" * depth + b"]" * depth + b"}"


def chunks_of(total: int, size: int = 64 * 1024) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        sent = 0
        while sent < total:
            yield b" " * min(size, total - sent)
            sent += size

    return chunks


INTAKE = "/v1/consultations/{consultation_id}/proposals"
NAIVE = consultation_body()
NAIVE["submission_opens_at"] = "2030-01-10T12:00:00"  # no zone: which 12:00?

ATTEMPTS = [
    # unknown fields, anywhere
    Attempt(
        "unknown top-level field", "submission", "POST", INTAKE, "portal", {**proposal_body(), "admin": True}
    ),
    Attempt("unknown nested field", "submission", "POST", INTAKE, "portal", with_submitter(verified=True)),
    Attempt(
        "unknown field in a command",
        "submission",
        "POST",
        "/v1/proposals/{proposal_id}/withdrawal",
        "portal",
        {"reason": "r", "force": True},
    ),
    Attempt(
        "unknown field (analysis)",
        "analysis",
        "POST",
        "/v1/packages",
        "lead",
        {"consultation_id": "{consultation_id}", "title": "t", "owner": "me"},
    ),
    # wrong types
    Attempt("a string for a list", "submission", "POST", INTAKE, "portal", proposal_body(directions="data")),
    Attempt("a number for a text", "submission", "POST", INTAKE, "portal", proposal_body(title=12345)),
    Attempt("null for a required text", "submission", "POST", INTAKE, "portal", proposal_body(text=None)),
    Attempt("a list for the body", "submission", "POST", INTAKE, "portal", [proposal_body()]),
    Attempt(
        "a value outside the set", "submission", "POST", INTAKE, "portal", proposal_body(approach="anarchy")
    ),
    Attempt(
        "a float score",
        "analysis",
        "POST",
        "/v1/proposals/{proposal_id}/reviews",
        "reviewer",
        {
            "organization": "ministry",
            "scores": {"legal_soundness": 4.5, "feasibility": 3, "risk_reduction": 3, "innovation_impact": 3},
            "recommendation": "support",
            "rationale": "r",
        },
    ),
    Attempt(
        "a bad e-mail", "submission", "POST", INTAKE, "portal", with_submitter(contact_email="not-an-email")
    ),
    # NUL and lone surrogates: in the body, the path, the query and a header
    Attempt("NUL in a text", "submission", "POST", INTAKE, "portal", proposal_body(text="before\x00after")),
    Attempt("NUL in a name", "submission", "POST", INTAKE, "portal", with_submitter(name="Hospital\x00")),
    Attempt(
        "NUL in a consultation code",
        "submission",
        "POST",
        "/v1/consultations",
        "admin",
        {**consultation_body(), "code": "x\x00y"},
    ),
    Attempt(
        "a lone surrogate in a text",
        "submission",
        "POST",
        INTAKE,
        "portal",
        content=json.dumps(proposal_body(text="broken \ud800 text")).encode(),
    ),
    Attempt(
        "a lone surrogate in an e-mail",
        "submission",
        "POST",
        INTAKE,
        "portal",
        content=json.dumps(with_submitter(contact_email="a\udc00@example.org")).encode(),
    ),
    Attempt(
        "a lone surrogate in a review",
        "analysis",
        "POST",
        "/v1/proposals/{proposal_id}/assessment",
        "lead",
        content=json.dumps({"outcome": "recommended", "rationale": "\udfff"}).encode(),
    ),
    Attempt(
        "a non-ASCII Idempotency-Key",
        "submission",
        "POST",
        INTAKE,
        "portal",
        proposal_body(),
        headers={"Idempotency-Key": "cl\u00e9 \u043a\u043b\u044e\u0447"},
    ),
    Attempt(
        "an Idempotency-Key of 10,000 characters",
        "submission",
        "POST",
        INTAKE,
        "portal",
        proposal_body(),
        headers={"Idempotency-Key": "k" * 10_000},
    ),
    Attempt(
        "NUL in a path (submission)", "submission", "GET", "/v1/proposals/%00", "admin", expected=(404, 422)
    ),
    Attempt("NUL in a path (analysis)", "analysis", "GET", "/v1/proposals/%00", "lead", expected=(404, 422)),
    Attempt(
        "NUL in a path (reporting)",
        "reporting",
        "GET",
        "/v1/proposals/%00/timeline",
        "dashboard",
        expected=(404, 422),
    ),
    Attempt(
        "NUL in a path (package)",
        "reporting",
        "GET",
        "/v1/packages/%00/document",
        "dashboard",
        expected=(404, 422),
    ),
    Attempt(
        "NUL in a query (analysis)",
        "analysis",
        "GET",
        "/v1/queue",
        "lead",
        params={"consultation_id": "\x00"},
        expected=(200, 422),
    ),
    Attempt(
        "NUL in a query (reporting)",
        "reporting",
        "GET",
        "/v1/stats",
        "dashboard",
        params={"consultation_id": "\x00"},
        expected=(404, 422),
    ),
    Attempt(
        "NUL in a removal reason",
        "analysis",
        "DELETE",
        "/v1/packages/{package_id}/items/{proposal_id}",
        "lead",
        params={"reason": "\x00"},
        expected=(404, 409, 422),
    ),
    # huge arrays and deep nesting (under 1 MiB)
    Attempt(
        "a huge array", "submission", "POST", INTAKE, "portal", proposal_body(directions=["data"] * 100_000)
    ),
    Attempt(
        "many attachments",
        "submission",
        "POST",
        INTAKE,
        "portal",
        proposal_body(
            attachments=[
                {"filename": "a.pdf", "media_type": "application/pdf", "size_bytes": 1, "sha256": "a" * 64}
            ]
            * 5000
        ),
    ),
    Attempt(
        "deeply nested JSON",
        "submission",
        "POST",
        INTAKE,
        "portal",
        content=nested(200_000),
        expected=(400, 422),
    ),
    Attempt(
        "nested JSON (1000)",
        "submission",
        "POST",
        INTAKE,
        "portal",
        content=nested(1000),
        expected=(400, 422),
    ),
    # not JSON, or not UTF-8
    Attempt(
        "invalid UTF-8",
        "submission",
        "POST",
        INTAKE,
        "portal",
        content=b'{"title": "\xff\xfe"}',
        expected=(400,),
    ),
    Attempt(
        "truncated JSON", "submission", "POST", INTAKE, "portal", content=b'{"title": ', expected=(400, 422)
    ),
    Attempt("an empty body", "submission", "POST", INTAKE, "portal", content=b"", expected=(400, 422)),
    Attempt(
        "a 5000-digit number",
        "submission",
        "POST",
        INTAKE,
        "portal",
        content=json.dumps(proposal_body()).replace('"critical"', "9" * 5000).encode(),
        expected=(400, 422),
    ),
    Attempt(
        "NaN for a number",
        "analysis",
        "POST",
        "/v1/proposals/{proposal_id}/reviews",
        "reviewer",
        content=b'{"organization": "ministry", "scores": {"legal_soundness": NaN, "feasibility": 3, '
        b'"risk_reduction": 3, "innovation_impact": 3}, "recommendation": "support", "rationale": "r"}',
    ),
    # dates without a time zone
    Attempt("a date without a zone", "submission", "POST", "/v1/consultations", "admin", NAIVE),
    Attempt(
        "as_of without a zone",
        "reporting",
        "GET",
        "/v1/packages/{package_id}/document",
        "dashboard",
        params={"as_of": "2030-01-10T12:00:00"},
    ),
    # numbers out of range in queries
    Attempt(
        "a position past 64 bits",
        "submission",
        "GET",
        "/v1/events",
        "auditor",
        params={"after": str(2**64)},
    ),
    Attempt(
        "a position past 64 bits (analysis)",
        "analysis",
        "GET",
        "/v1/events",
        "auditor",
        params={"after": "99999999999999999999999"},
    ),
    Attempt("a limit of zero", "submission", "GET", "/v1/proposals", "admin", params={"limit": "0"}),
    Attempt(
        "a limit past the maximum", "reporting", "GET", "/v1/packages", "dashboard", params={"limit": "1001"}
    ),
    Attempt("a cursor of garbage", "submission", "GET", "/v1/proposals", "admin", params={"cursor": "!!!"}),
    Attempt("a cursor of an object", "analysis", "GET", "/v1/queue", "lead", params={"cursor": "e30"}),
    Attempt("a negative backlog", "reporting", "GET", "/v1/stream", "dashboard", params={"backlog": "-1"}),
    # bodies over 1 MiB: declared, and streamed without a length
    Attempt(
        "a body over 1 MiB",
        "submission",
        "POST",
        INTAKE,
        "portal",
        proposal_body(text="x" * (MIB + 10)),
        expected=(413,),
    ),
    Attempt(
        "a streamed body over 1 MiB",
        "submission",
        "POST",
        INTAKE,
        "portal",
        content=chunks_of(MIB + 1000),
        expected=(413,),
    ),
    Attempt(
        "a body over 1 MiB (analysis)",
        "analysis",
        "POST",
        "/v1/proposals/{proposal_id}/reviews",
        "reviewer",
        content=b"{" + b" " * (MIB + 1) + b"}",
        expected=(413,),
    ),
]


def token_for(tokens: TokenFactory, target: Target, role: str) -> dict[str, str]:
    if role == "portal":
        return target.header(target.portal_a_token)
    return tokens.header(role, f"{role}-bad-input", "ministry" if role == "reviewer" else None)


def send(target: Target, tokens: TokenFactory, attempt: Attempt) -> httpx.Response:
    values = target.path_values()
    path = attempt.path.format(**values)
    headers: dict[str, str | bytes] = {
        **token_for(tokens, target, attempt.role),
        "Idempotency-Key": uuid.uuid4().hex,
        "content-type": "application/json",
        **{name: value.encode() for name, value in attempt.headers.items()},
    }
    content: bytes | Iterator[bytes] | None
    if callable(attempt.content):
        content = attempt.content()
    elif attempt.content is None and attempt.body is not None:
        content = json.dumps(attempt.body).replace("{consultation_id}", values["consultation_id"]).encode()
    else:
        content = attempt.content
    return httpx.request(
        attempt.method,
        target.system.url(attempt.service) + path,
        content=content,
        params=attempt.params,
        headers=headers,
        timeout=30,
    )


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[attempt.name for attempt in ATTEMPTS])
def test_bad_input_gets_a_clear_4xx_and_records_nothing(
    target: Target, tokens: TokenFactory, attempt: Attempt
) -> None:
    heads = {name: feed_head(target, name) for name in ("submission", "analysis")}
    response = send(target, tokens, attempt)
    assert response.status_code in attempt.expected, response.text[:500]
    if response.status_code >= 400:
        body = json_of(response)
        assert isinstance(body["error"], str) and body["error"]
        assert isinstance(body["detail"], str) and body["detail"]
        assert "Traceback" not in response.text
    assert {name: feed_head(target, name) for name in heads} == heads
