"""The submitter's signed receipt: proof that a proposal is in the submission log, at a position, with a
hash, received at a time. Signed by the submission service's Ed25519 key over the canonical JSON of
every field but the signature; ``aireg audit receipt`` checks it against the key and the log."""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict

from aireg_events.canonical import canonical_json
from aireg_events.catalogue.common import UtcDateTime
from aireg_events.signing import key_id, sign, verify


class ReceiptClaims(BaseModel):
    """What the receipt asserts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    registration_number: str
    proposal_id: str
    consultation_id: str
    event_id: str
    log_position: int
    event_hash: str
    received_at: UtcDateTime
    producer: str = "submission"


class Receipt(ReceiptClaims):
    key_id: str
    signature: str

    def claims(self) -> ReceiptClaims:
        return ReceiptClaims.model_validate(self.model_dump(exclude={"key_id", "signature"}))

    def signature_is_valid(self, public_key: Ed25519PublicKey) -> bool:
        if key_id(public_key) != self.key_id:
            return False
        return verify(public_key, _signed_bytes(self.claims()), self.signature)


def _signed_bytes(claims: ReceiptClaims) -> bytes:
    return canonical_json(claims.model_dump(mode="json"))


def issue_receipt(key: Ed25519PrivateKey, claims: ReceiptClaims) -> Receipt:
    return Receipt(
        **claims.model_dump(),
        key_id=key_id(key.public_key()),
        signature=sign(key, _signed_bytes(claims)),
    )


def received_before(receipt: Receipt, deadline: datetime) -> bool:
    return receipt.received_at <= deadline
