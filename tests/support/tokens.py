"""Bearer tokens for tests, signed by the session's token key."""

from __future__ import annotations

import subprocess
import sys

import jwt

from aireg_cli.keys import KeyRing
from aireg_events.signing import load_private_key
from aireg_http.auth import TokenRole, issue_token


class TokenFactory:
    def __init__(self, keys: KeyRing) -> None:
        self._key = load_private_key(keys.token_private)

    def __call__(self, role: TokenRole, name: str | None = None, organization: str | None = None) -> str:
        if role == "reviewer" and organization is None:
            organization = "ministry"
        return issue_token(self._key, role=role, name=name or f"test-{role}", organization=organization)

    def header(
        self, role: TokenRole, name: str | None = None, organization: str | None = None
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self(role, name, organization)}"}


def revoke_with_the_cli(token: str, keys: KeyRing) -> str:
    """Revoke ``token`` as an operator does (``aireg tokens revoke <jti>``); returns its id."""
    token_id = str(jwt.decode(token, options={"verify_signature": False})["jti"])
    done = subprocess.run(
        [sys.executable, "-m", "aireg_cli.main", "tokens", "revoke", token_id, "--keys", str(keys.directory)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return token_id
