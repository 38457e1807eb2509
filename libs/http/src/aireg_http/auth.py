"""Bearer tokens: Ed25519-signed JWTs that every service verifies with the issuer's public key alone.

``aireg tokens issue`` signs them; a service never reads another service's database to check one. A
token is revoked by listing its id (``jti``) in the revocation file every service is configured with.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, Request

from aireg_events.envelope import Actor, new_event_id
from aireg_http.errors import Forbidden, Unauthorized

ISSUER = "aireg"
TokenRole = Literal["portal", "reviewer", "lead", "admin", "auditor", "dashboard"]
ROLES: tuple[TokenRole, ...] = ("portal", "reviewer", "lead", "admin", "auditor", "dashboard")
REVIEWER_ORGANIZATIONS = ("ministry", "analytical_center")


@dataclass(frozen=True)
class Principal:
    """Who is calling: from a verified token."""

    name: str
    role: TokenRole
    organization: str | None
    token_id: str

    def actor(self) -> Actor:
        return Actor(role=self.role, name=self.name, organization=self.organization)


def issue_token(
    key: Ed25519PrivateKey,
    *,
    role: TokenRole,
    name: str,
    organization: str | None = None,
    ttl_seconds: int = 90 * 24 * 3600,
    now: float | None = None,
) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == "reviewer" and organization not in REVIEWER_ORGANIZATIONS:
        raise ValueError("a reviewer's organization is ministry or analytical_center")
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": ISSUER,
        "sub": name,
        "role": role,
        "org": organization,
        "jti": new_event_id(),
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    return jwt.encode(claims, key, algorithm="EdDSA")


class RevocationList:
    """Revoked token ids, one per line in a file; re-read when the file changes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp: float | None = None
        self._ids: frozenset[str] = frozenset()

    def __contains__(self, token_id: object) -> bool:
        if self.path is None:
            return False
        try:
            stamp = self.path.stat().st_mtime
        except FileNotFoundError:
            return False
        if stamp != self._stamp:
            lines = self.path.read_text().splitlines()
            self._ids = frozenset(line.strip() for line in lines if line.strip())
            self._stamp = stamp
        return token_id in self._ids


class TokenVerifier:
    KNOWN_TOKENS = 10_000
    """Tokens whose signature was checked, kept so that the signature is checked once per token, not
    once per request (an Ed25519 verification was a twentieth of an intake's time, ``bench/intake.py``).
    Expiry and revocation are still checked on every request."""

    def __init__(self, public_key: Ed25519PublicKey, revoked: RevocationList | None = None) -> None:
        self.public_key = public_key
        self.revoked = revoked or RevocationList(None)
        self._known: dict[str, tuple[Principal, float]] = {}

    def verify(self, token: str) -> Principal:
        known = self._known.get(token)
        if known is None:
            principal, expires = self._verify_signature(token)
            if len(self._known) >= self.KNOWN_TOKENS:
                self._known.clear()
            self._known[token] = (principal, expires)
        else:
            principal, expires = known
            if time.time() >= expires:
                raise Unauthorized("the token has expired", code="token_expired")
        if principal.token_id in self.revoked:
            raise Unauthorized("the token was revoked", code="token_revoked")
        return principal

    def _verify_signature(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=["EdDSA"],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Unauthorized("the token has expired", code="token_expired") from error
        except jwt.InvalidTokenError as error:
            raise Unauthorized("the token is not valid", code="invalid_token") from error
        role = claims.get("role")
        if role not in ROLES:
            raise Unauthorized("the token names no known role", code="invalid_token")
        principal = Principal(
            name=str(claims["sub"]), role=role, organization=claims.get("org"), token_id=claims["jti"]
        )
        return principal, float(claims["exp"])


VERIFIED_TOKEN = "aireg_verified_token"
"""Where a request's scope state keeps its verified token and principal: the rate limiter verifies the
token first, and the route's dependency then reuses the result instead of verifying it twice."""


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def verify_once(state: dict[str, Any], verifier: TokenVerifier, token: str) -> Principal:
    """``verifier.verify(token)``, remembered in the request's scope ``state`` for the rest of the request."""
    known = state.get(VERIFIED_TOKEN)
    if known is not None and known[0] == token:
        return known[1]
    principal = verifier.verify(token)
    state[VERIFIED_TOKEN] = (token, principal)
    return principal


async def _principal(request: Request) -> Principal:
    # async: FastAPI runs a plain ``def`` dependency on a worker thread, two hand-overs per request
    token = bearer_token(request.headers.get("authorization", ""))
    if token is None:
        raise Unauthorized(
            "send Authorization: Bearer <token>", code="missing_token", headers={"WWW-Authenticate": "Bearer"}
        )
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = verify_once(request.scope.setdefault("state", {}), verifier, token)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


def require_roles(*roles: TokenRole) -> Any:
    """A dependency that lets through only ``roles`` (403 ``forbidden_role`` otherwise)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(
                f"this needs the role {' or '.join(roles)}; the token has {principal.role}",
                code="forbidden_role",
            )
        return principal

    return Depends(check)
