"""``aireg audit receipt FILE``: a submitter's receipt is signed by the submission service's key, names
an event that is in the log with that hash and position, and says whether it came before the deadline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from aireg_events.canonical import parse_timestamp
from aireg_events.envelope import content_hash
from aireg_events.receipts import Receipt
from aireg_events.topic_reader import read_topics
from aireg_events.topics import Topics


@dataclass
class ReceiptCheck:
    receipt: Receipt
    signature_valid: bool = False
    in_log: bool = False
    before_deadline: bool | None = None
    deadline: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signature_valid and self.in_log

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "registration_number": self.receipt.registration_number,
            "proposal_id": self.receipt.proposal_id,
            "event_id": self.receipt.event_id,
            "log_position": self.receipt.log_position,
            "received_at": self.receipt.received_at.isoformat(),
            "signature_valid": self.signature_valid,
            "in_log": self.in_log,
            "before_deadline": self.before_deadline,
            "deadline": self.deadline,
            "problems": self.problems,
        }


def load_receipt(data: bytes) -> Receipt:
    """A receipt file: the receipt itself, or the whole 201 answer that carries it."""
    content = orjson.loads(data)
    if isinstance(content, dict) and isinstance(content.get("receipt"), dict):
        content = content["receipt"]
    return Receipt.model_validate(content)


async def check_receipt(
    receipt: Receipt, public_key: Ed25519PublicKey, bootstrap_servers: str, topics: Topics
) -> ReceiptCheck:
    check = ReceiptCheck(receipt, signature_valid=receipt.signature_is_valid(public_key))
    if not check.signature_valid:
        check.problems.append("the signature does not verify with the submission service's key")
    closes_at = None
    event_seen = False
    async for record in read_topics(bootstrap_servers, [topics.submission]):
        try:
            content = orjson.loads(record.value or b"")
        except orjson.JSONDecodeError:
            continue
        if not isinstance(content, dict):
            continue
        payload = content.get("payload") or {}
        if (
            content.get("event_type") == "ConsultationOpened"
            and payload.get("consultation_id") == receipt.consultation_id
        ):
            closes_at = parse_timestamp(payload["submission_closes_at"])
        if content.get("event_id") != receipt.event_id or check.in_log:
            continue
        event_seen = True
        matches = (
            content.get("hash") == receipt.event_hash
            and content_hash(content) == receipt.event_hash
            and content.get("log_position") == receipt.log_position
            and payload.get("proposal_id") == receipt.proposal_id
            and payload.get("registration_number") == receipt.registration_number
        )
        check.in_log = matches
    if not event_seen:
        check.problems.append(f"event {receipt.event_id} is not in the submission log")
    elif not check.in_log:
        check.problems.append("the event in the log differs from what the receipt names")
    if closes_at is not None:
        check.deadline = closes_at.isoformat()
        check.before_deadline = receipt.received_at <= closes_at
    else:
        check.problems.append(f"consultation {receipt.consultation_id} is not in the submission log")
    return check
