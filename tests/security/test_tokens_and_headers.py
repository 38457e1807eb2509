"""Every service refuses a token that is revoked, expired, forged, tampered with, unsigned or signed
with the wrong algorithm (401, JSON, ``WWW-Authenticate`` where none was sent), and every answer, good
or bad, carries the usual security headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import jwt
import pytest

from aireg_cli.keys import KeyRing
from aireg_events.signing import generate_private_key, load_private_key
from aireg_http.auth import issue_token
from aireg_http.observability import SECURITY_HEADERS
from tests.security.conftest import Target, json_of
from tests.support.tokens import TokenFactory, revoke_with_the_cli

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

READ = {
    "submission": "/v1/consultations",
    "analysis": "/v1/queue",
    "reporting": "/v1/deadlines",
}
"""One read every service serves to a lead."""


def unsigned(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def hs256(claims: dict[str, object], secret: bytes) -> str:
    """The algorithm-confusion attack: an HMAC token keyed with the issuer's (public) verification key."""

    def part(value: dict[str, object]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signed = part({"alg": "HS256", "typ": "JWT"}) + b"." + part(claims)
    mac = hmac.new(secret, signed, hashlib.sha256).digest()
    return (signed + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()


def answers(target: Target, token: str) -> dict[str, tuple[int, str]]:
    found = {}
    for service, path in READ.items():
        response = httpx.get(
            target.system.url(service) + path, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        found[service] = (
            response.status_code,
            json_of(response)["error"] if response.status_code >= 400 else "",
        )
    return found


def test_a_revoked_token_is_refused_by_every_service(
    target: Target, tokens: TokenFactory, keys: KeyRing
) -> None:
    token = tokens("lead", "lead-to-revoke")
    assert {service: status for service, (status, _) in answers(target, token).items()} == dict.fromkeys(
        READ, 200
    )
    token_id = revoke_with_the_cli(token, keys)
    assert token_id in keys.revoked_tokens.read_text()
    assert answers(target, token) == dict.fromkeys(READ, (401, "token_revoked"))
    assert answers(target, tokens("lead", "lead-not-revoked")) == dict.fromkeys(READ, (200, ""))


def test_expired_forged_tampered_and_unsigned_tokens_are_refused_by_every_service(
    target: Target, tokens: TokenFactory, keys: KeyRing
) -> None:
    issuer = load_private_key(keys.token_private)
    expired = issue_token(issuer, role="lead", name="old-lead", ttl_seconds=60, now=time.time() - 3600)
    good = tokens("lead", "lead-model")
    claims = jwt.decode(good, options={"verify_signature": False})
    header, _, signature = good.split(".")
    admin_claims = {**claims, "role": "admin"}
    promoted = base64.urlsafe_b64encode(json.dumps(admin_claims).encode()).decode().rstrip("=")
    public_pem = Path(keys.token_public).read_bytes()
    refusals = {
        "expired": (expired, "token_expired"),
        "signed by another key": (
            jwt.encode(claims, generate_private_key(), algorithm="EdDSA"),
            "invalid_token",
        ),
        "payload changed (role)": (f"{header}.{promoted}.{signature}", "invalid_token"),
        "alg none": (unsigned(claims), "invalid_token"),
        "HS256 keyed with the public key": (hs256(claims, public_pem), "invalid_token"),
        "another issuer": (
            jwt.encode({**claims, "iss": "someone"}, issuer, algorithm="EdDSA"),
            "invalid_token",
        ),
        "an unknown role": (
            jwt.encode({**claims, "role": "superuser"}, issuer, algorithm="EdDSA"),
            "invalid_token",
        ),
        "garbage": ("not.a.token", "invalid_token"),
    }
    found = {what: answers(target, token) for what, (token, _) in refusals.items()}
    assert found == {what: dict.fromkeys(READ, (401, code)) for what, (_, code) in refusals.items()}


@pytest.mark.parametrize("service", ["submission", "analysis", "reporting"])
def test_every_answer_carries_the_security_headers(
    target: Target, tokens: TokenFactory, service: str
) -> None:
    url = target.system.url(service)
    lead = tokens.header("lead", "lead-headers")
    calls = [
        httpx.get(f"{url}/health"),
        httpx.get(url + READ[service], headers=lead),
        httpx.get(url + READ[service]),
        httpx.get(f"{url}/nowhere", headers=lead),
        httpx.get(url + READ[service], headers=lead, params={"limit": "0"}),
        httpx.post(f"{url}/v1/anything", content=b"x" * (2 * 1024 * 1024), headers=lead),
    ]
    assert [response.status_code for response in calls] == [200, 200, 401, 404, 422, 413]
    for response in calls:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (service, response.status_code, name)
        assert response.headers.get("content-security-policy"), response.status_code
        assert response.headers.get("x-correlation-id"), response.status_code
        assert "server" not in response.headers, "the server does not say what software it runs"
