"""The key pairs a deployment needs: the token issuer's, and each producer's signing key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aireg_events.signing import write_key_pair

PRODUCERS = ("submission", "analysis")


@dataclass(frozen=True)
class KeyRing:
    directory: Path

    @property
    def token_private(self) -> Path:
        return self.directory / "token.key"

    @property
    def token_public(self) -> Path:
        return self.directory / "token.pub"

    def signing_private(self, producer: str) -> Path:
        return self.directory / f"{producer}.key"

    def signing_public(self, producer: str) -> Path:
        return self.directory / f"{producer}.pub"

    @property
    def revoked_tokens(self) -> Path:
        return self.directory / "revoked-tokens"


def ensure_keys(directory: Path) -> KeyRing:
    """Create whatever key pair is missing under ``directory`` (existing keys are kept)."""
    write_key_pair(directory, "token")
    for producer in PRODUCERS:
        write_key_pair(directory, producer)
    ring = KeyRing(directory)
    ring.revoked_tokens.touch(exist_ok=True)
    return ring
