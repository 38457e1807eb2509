"""The shape of a sealed personal-data value, as events, stores and answers carry it (no keys here).

Personal data (a contact e-mail; a citizen's name and registration number) is encrypted by the submission
service under a key of its own data subject, which only that service holds, outside the log. Everyone
else sees ``{"erased": false, "sealed": "aes256gcm:<key id>:<nonce>:<ciphertext>"}`` (nonce and
ciphertext in unpadded base64url, the ciphertext ending in the 16-byte GCM tag), or ``{"erased": true}``
once the key was destroyed.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

ALGORITHM = "aes256gcm"
SEALED_PATTERN = r"^aes256gcm:[0-9a-f-]{36}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22,}$"
_SEALED = re.compile(SEALED_PATTERN)
MAX_SEALED_LENGTH = 4096


class SealedValue(BaseModel):
    """A personal-data value as readers without its key see it."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "description": "personal data, encrypted (AES-256-GCM) under its data subject's key, which "
            'only the submission service holds: {"erased": false, "sealed": "aes256gcm:<key id>:'
            '<nonce>:<ciphertext>"}; {"erased": true} once the subject\'s data was erased'
        },
    )

    erased: bool
    sealed: Annotated[str, Field(pattern=SEALED_PATTERN, max_length=MAX_SEALED_LENGTH)] | None = Field(
        default=None, exclude_if=lambda sealed: sealed is None
    )
    """Left out once erased: ``{"erased": true}``, as docs/contract.md shows it."""

    @model_validator(mode="after")
    def _consistent(self) -> SealedValue:
        if self.erased and self.sealed is not None:
            raise ValueError("an erased value carries no ciphertext")
        if not self.erased and self.sealed is None:
            raise ValueError("a value that is not erased carries its ciphertext in `sealed`")
        return self

    @classmethod
    def of(cls, key_id: str, nonce: str, ciphertext: str) -> SealedValue:
        return cls(erased=False, sealed=f"{ALGORITHM}:{key_id}:{nonce}:{ciphertext}")

    @classmethod
    def gone(cls) -> SealedValue:
        """The value after its subject's key was destroyed."""
        return cls(erased=True)

    @property
    def key_id(self) -> str | None:
        """The id of the data subject key it was sealed under (None once erased)."""
        return None if self.sealed is None else self.sealed.split(":")[1]

    def parts(self) -> tuple[str, str, str]:
        """``(key_id, nonce, ciphertext)``, the last two in unpadded base64url."""
        if self.sealed is None or not _SEALED.match(self.sealed):
            raise ValueError("the value was erased")
        _, key_id, nonce, ciphertext = self.sealed.split(":")
        return key_id, nonce, ciphertext
