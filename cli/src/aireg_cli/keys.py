"""The key pairs a deployment needs: the token issuer's, and each producer's signing key; and the secret
of the submission service's keyed digests of personal data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aireg_events.signing import write_key_pair
from aireg_submission.personal_data import write_digest_secret_file

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

    def signing_publics(self, producer: str) -> list[Path]:
        """The producer's public keys: ``<producer>.pub`` and, after rotations, ``<producer>.*.pub``
        (e.g. ``submission.2026-01.pub``), so old checkpoints and receipts still verify."""
        current = self.signing_public(producer)
        older = sorted(self.directory.glob(f"{producer}.*.pub"))
        return ([current] if current.exists() else []) + older

    @property
    def digest_secret(self) -> Path:
        """The submission service's secret for the keyed digests of personal data (hex)."""
        return self.directory / "submission.digest-secret"

    @property
    def revoked_tokens(self) -> Path:
        return self.directory / "revoked-tokens"


def ensure_keys(directory: Path) -> KeyRing:
    """Create whatever key pair is missing under ``directory`` (existing keys are kept)."""
    write_key_pair(directory, "token")
    for producer in PRODUCERS:
        write_key_pair(directory, producer)
    ring = KeyRing(directory)
    write_digest_secret_file(ring.digest_secret)
    ring.revoked_tokens.touch(exist_ok=True)
    return ring
