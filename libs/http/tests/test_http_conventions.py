"""The HTTP conventions every service shares, on a small app: JSON errors with machine codes (never a
trace), bearer tokens (missing, forged, expired, revoked, wrong role), body limits, paginated lists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from aireg_events.rules import RuleViolation
from aireg_events.signing import generate_private_key, load_private_key, load_public_key, write_key_pair
from aireg_http.auth import Principal, RevocationList, TokenVerifier, issue_token, require_roles
from aireg_http.conventions import install_conventions
from aireg_http.pagination import Page, PageParams


class Echo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


class WindowClosed(RuleViolation):
    code = "submission_window_closed"
    kind = "conflict"


Lead = Annotated[Principal, require_roles("lead")]


def build_app(keys: Path, revoked: Path) -> FastAPI:
    app = FastAPI()
    app.state.token_verifier = TokenVerifier(load_public_key(keys / "token.pub"), RevocationList(revoked))
    install_conventions(app, service="test", max_body_bytes=1000)

    @app.post("/echo")
    async def echo(body: Echo, _principal: Lead) -> Echo:
        return body

    @app.post("/closed")
    async def closed() -> None:
        raise WindowClosed("the window closed at noon")

    @app.get("/numbers", response_model=Page[int])
    async def numbers(page: PageParams) -> Page[int]:
        start = int(page.cursor[0]) + 1 if page.cursor else 0
        return page.page(list(range(start, min(start + page.limit + 1, 25))), lambda item: [item])

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    return app


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    write_key_pair(tmp_path, "token")
    return tmp_path


@pytest.fixture
async def client(key_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(key_dir, key_dir / "revoked")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


def bearer(key_dir: Path, role: str = "lead", **options: object) -> dict[str, str]:
    token = issue_token(load_private_key(key_dir / "token.key"), role=role, name="someone", **options)
    return {"Authorization": f"Bearer {token}"}


async def test_a_valid_token_with_the_right_role_passes(client: httpx.AsyncClient, key_dir: Path) -> None:
    response = await client.post("/echo", json={"text": "hi"}, headers=bearer(key_dir))
    assert response.status_code == 200 and response.json() == {"text": "hi"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-correlation-id"]


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_token"),
        ({"Authorization": "Bearer not-a-token"}, "invalid_token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "missing_token"),
    ],
)
async def test_a_missing_or_bad_token_is_401(
    client: httpx.AsyncClient, headers: dict[str, str], code: str
) -> None:
    response = await client.post("/echo", json={"text": "hi"}, headers=headers)
    assert (response.status_code, response.json()["error"]) == (401, code)


async def test_a_token_signed_by_another_key_is_401(client: httpx.AsyncClient) -> None:
    forged = issue_token(generate_private_key(), role="lead", name="mallory")
    response = await client.post("/echo", json={"text": "hi"}, headers={"Authorization": f"Bearer {forged}"})
    assert (response.status_code, response.json()["error"]) == (401, "invalid_token")


async def test_an_expired_token_is_401(client: httpx.AsyncClient, key_dir: Path) -> None:
    headers = bearer(key_dir, ttl_seconds=10, now=1_000_000)
    response = await client.post("/echo", json={"text": "hi"}, headers=headers)
    assert (response.status_code, response.json()["error"]) == (401, "token_expired")


async def test_a_token_that_expires_after_its_first_use_is_refused_then(
    client: httpx.AsyncClient, key_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import aireg_http.auth

    headers = bearer(key_dir, ttl_seconds=60)
    assert (await client.post("/echo", json={"text": "a"}, headers=headers)).status_code == 200
    # the signature is not checked again, but the expiry is
    monkeypatch.setattr(aireg_http.auth.time, "time", lambda: time.monotonic() + 4_000_000_000)
    response = await client.post("/echo", json={"text": "a"}, headers=headers)
    assert (response.status_code, response.json()["error"]) == (401, "token_expired")


async def test_a_revoked_token_is_401(client: httpx.AsyncClient, key_dir: Path) -> None:
    import jwt

    headers = bearer(key_dir)
    token_id = jwt.decode(headers["Authorization"].split()[1], options={"verify_signature": False})["jti"]
    assert (await client.post("/echo", json={"text": "a"}, headers=headers)).status_code == 200
    (key_dir / "revoked").write_text(token_id + "\n")
    response = await client.post("/echo", json={"text": "a"}, headers=headers)
    assert (response.status_code, response.json()["error"]) == (401, "token_revoked")


async def test_the_wrong_role_is_403(client: httpx.AsyncClient, key_dir: Path) -> None:
    response = await client.post("/echo", json={"text": "hi"}, headers=bearer(key_dir, role="portal"))
    assert (response.status_code, response.json()["error"]) == (403, "forbidden_role")


async def test_invalid_input_is_422_with_field_errors(client: httpx.AsyncClient, key_dir: Path) -> None:
    response = await client.post("/echo", json={"text": "hi", "extra": 1}, headers=bearer(key_dir))
    body = response.json()
    assert response.status_code == 422 and body["error"] == "validation_failed"
    assert body["errors"][0]["loc"] == ["body", "extra"]
    broken = await client.post(
        "/echo", content=b"\xff\xfe{", headers={**bearer(key_dir), "content-type": "application/json"}
    )
    assert (broken.status_code, broken.json()["error"]) == (400, "malformed_body")


async def test_a_broken_rule_is_answered_with_its_code(client: httpx.AsyncClient) -> None:
    response = await client.post("/closed")
    assert response.status_code == 409
    assert response.json() == {"error": "submission_window_closed", "detail": "the window closed at noon"}


async def test_a_body_over_the_limit_is_413_before_parsing(client: httpx.AsyncClient, key_dir: Path) -> None:
    response = await client.post(
        "/echo", content=b'{"text": "' + b"x" * 2000 + b'"}', headers=bearer(key_dir)
    )
    assert (response.status_code, response.json()["error"]) == (413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 200

    streamed = await client.post("/echo", content=chunks(), headers=bearer(key_dir))
    assert (streamed.status_code, streamed.json()["error"]) == (413, "payload_too_large")


async def test_unknown_paths_methods_and_crashes_answer_json_without_a_trace(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/nowhere")).json()["error"] == "not_found"
    assert (await client.get("/echo")).json()["error"] == "method_not_allowed"
    crash = await client.get("/boom")
    assert crash.status_code == 500 and crash.json()["error"] == "internal_error"
    assert "secret" not in crash.text


async def test_lists_page_with_limit_and_cursor(client: httpx.AsyncClient) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/numbers", params=params)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(25))
    assert (await client.get("/numbers", params={"limit": 1001})).status_code == 422
    bad = await client.get("/numbers", params={"cursor": "%%%"})
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_cursor")


async def test_metrics_count_answers_by_route_template_and_status(
    client: httpx.AsyncClient, key_dir: Path
) -> None:
    def count(metrics: str, route: str, status: int) -> float:
        prefix = (
            f'aireg_http_requests_total{{method="POST",route="{route}",service="test",status="{status}"}} '
        )
        lines = [line for line in metrics.splitlines() if line.startswith(prefix)]
        return float(lines[0].removeprefix(prefix)) if lines else 0.0

    before = (await client.get("/metrics")).text
    await client.post("/echo", json={"text": "hi"}, headers=bearer(key_dir))
    await client.post("/echo", json={"text": 1}, headers=bearer(key_dir))
    response = await client.post("/nowhere", headers={"X-Correlation-Id": "c-42"})
    assert response.headers["x-correlation-id"] == "c-42"
    after = (await client.get("/metrics")).text
    assert count(after, "/echo", 200) - count(before, "/echo", 200) == 1
    assert count(after, "/echo", 422) - count(before, "/echo", 422) == 1
    assert count(after, "unmatched", 404) - count(before, "unmatched", 404) == 1
