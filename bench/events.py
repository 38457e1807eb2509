"""Realistic logs for the replay, rebuild and consumer benchmarks: both producers' hash-chained events as
the services write them (every payload valid against the catalogue), written straight to the topics.

Per proposal: ``ProposalSubmitted`` (submission), then ``ProposalTriaged`` caused by it (analysis); two
proposals in five are then reviewed (two ``ReviewerAssigned``, two ``ReviewSubmitted``) and assessed
(``ProposalAssessed``). Each producer appends a signed ``ChainCheckpoint`` every 1,000 events. That is
about four events per proposal, one in three from submission.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aireg_events.canonical import canonical_json_of_decoded, format_timestamp
from aireg_events.envelope import GENESIS_HASH, content_hash, new_event_id
from aireg_events.log.checkpoints import checkpoint_message
from aireg_events.signing import generate_private_key, key_id, sign
from aireg_events.topics import Topics
from bench.harness import proposal_body, text

CHECKPOINT_EVERY = 1000
TRIAGE_METHOD = {
    "name": "minhash_lsh_word_shingles",
    "version": "1",
    "parameters": {
        "threshold": 0.6,
        "num_perm": 128,
        "shingle_size": 3,
        "bands": 9,
        "rows": 13,
        "seed": 1,
        "scheme": "affine32",
        "normalization": "nfkc_casefold_words",
    },
}


@dataclass
class ChainWriter:
    """One producer's log as its appender would build it: positions, stream versions, hash chain."""

    producer: str
    key: Ed25519PrivateKey
    position: int = 0
    head: str = GENESIS_HASH
    versions: dict[str, int] = field(default_factory=dict)
    clock: list[float] = field(default_factory=lambda: [time.time() - 86_400])
    """Shared by the producers of one run, so a cause always happened before its effect."""
    last_checkpoint: int = 0

    @property
    def moment(self) -> float:
        return self.clock[0]

    def seal(
        self, event_type: str, stream_id: str, payload: dict[str, Any], *, causation_id: str | None = None
    ) -> dict[str, Any]:
        self.position += 1
        self.clock[0] += 0.001
        self.versions[stream_id] = self.versions.get(stream_id, 0) + 1
        event_id = new_event_id()
        envelope: dict[str, Any] = {
            "event_id": event_id,
            "event_type": event_type,
            "schema_version": 1,
            "stream_id": stream_id,
            "stream_version": self.versions[stream_id],
            "log_position": self.position,
            "occurred_at": format_timestamp(datetime.fromtimestamp(self.moment, UTC)),
            "producer": self.producer,
            "correlation_id": event_id,
            "causation_id": causation_id,
            "actor": {"role": "system", "name": "bench", "organization": None},
            "payload": payload,
            "prev_hash": self.head,
        }
        self.head = envelope["hash"] = content_hash(envelope, decoded=True)
        return envelope

    def checkpoint_due(self) -> bool:
        return self.position - self.last_checkpoint >= CHECKPOINT_EVERY - 1

    def checkpoint(self) -> dict[str, Any]:
        signed_at = datetime.now(UTC)
        payload = {
            "chain_producer": self.producer,
            "head_position": self.position,
            "head_hash": self.head,
            "signed_at": format_timestamp(signed_at),
            "key_id": key_id(self.key.public_key()),
            "signature": sign(
                self.key, checkpoint_message(self.producer, self.position, self.head, signed_at)
            ),
        }
        envelope = self.seal("ChainCheckpoint", f"checkpoint:{self.producer}", payload)
        self.last_checkpoint = self.position
        return envelope


@dataclass
class Consultation:
    """Generates the events of one consultation's proposals, in the order the services would log them."""

    keys: dict[str, Ed25519PrivateKey] = field(
        default_factory=lambda: {producer: generate_private_key() for producer in ("submission", "analysis")}
    )
    consultation_id: str = field(default_factory=lambda: new_event_id())
    seed: int = 7
    review_share: float = 0.4
    campaign_id: str | None = None
    """Every proposal a copy of one form letter: triage puts each in this campaign (the second groups
    the first with it), as analysis does for a mass campaign."""

    def __post_init__(self) -> None:
        clock = [time.time() - 86_400]
        self.writers = {
            producer: ChainWriter(producer, key, clock=clock) for producer, key in self.keys.items()
        }
        self.rng = random.Random(self.seed)
        self.proposals = 0
        self.first_letter: str | None = None

    def opened(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        day = 86_400
        payload = {
            "consultation_id": self.consultation_id,
            "code": f"BENCH-{self.consultation_id[:8]}",
            "title": "Benchmark consultation",
            "description": "generated by bench/events.py",
            "submission_opens_at": format_timestamp(datetime.fromtimestamp(now.timestamp() - 10 * day, UTC)),
            "submission_closes_at": format_timestamp(datetime.fromtimestamp(now.timestamp() + day, UTC)),
            "analysis_due_at": format_timestamp(datetime.fromtimestamp(now.timestamp() + 30 * day, UTC)),
            "forwarding_due_at": format_timestamp(datetime.fromtimestamp(now.timestamp() + 40 * day, UTC)),
            "late_submissions": "reject",
        }
        return self._sealed("submission", "ConsultationOpened", self.consultation_id, payload)

    def submitted(self) -> dict[str, Any]:
        """The next proposal's ``ProposalSubmitted``."""
        self.proposals += 1
        index = self.proposals
        proposal_id = new_event_id()
        content = proposal_body(self.rng, index)
        writer = self.writers["submission"]
        payload = {
            "proposal_id": proposal_id,
            "consultation_id": self.consultation_id,
            "registration_number": f"AIREG-2026-{index:06d}",
            "portal": f"portal-{index % 7}",
            "received_at": format_timestamp(datetime.fromtimestamp(writer.moment, UTC)),
            "late": False,
            "idempotency_key": f"key-{index}",
            "request_sha256": hashlib.sha256(canonical_json_of_decoded(content)).hexdigest(),
            "content": content,
        }
        return self._sealed("submission", "ProposalSubmitted", proposal_id, payload)

    def decisions(self, submitted: dict[str, Any]) -> list[dict[str, Any]]:
        """What analysis logs about a submitted proposal: its triage, and for some a review and an
        assessment."""
        proposal_id = submitted["stream_id"]
        base = {"proposal_id": proposal_id, "consultation_id": self.consultation_id}
        triage = {
            **base,
            "proposal_version": 1,
            "complete": True,
            "missing": [],
            "exact_duplicate_of": None,
            "campaign_id": None,
            "campaign_representative": None,
            "similar": [],
            "method": TRIAGE_METHOD,
            "grouped_with": [],
            "merged_campaigns": [],
            "exact_duplicates": [],
        }
        if self.campaign_id is not None:
            if self.first_letter is None:
                self.first_letter = proposal_id
            else:
                triage["campaign_id"] = self.campaign_id
                triage["campaign_representative"] = self.first_letter
                if self.proposals == 2:
                    triage["grouped_with"] = [self.first_letter]
        events = [
            self._sealed(
                "analysis", "ProposalTriaged", proposal_id, triage, causation_id=submitted["event_id"]
            )
        ]
        if self.rng.random() >= self.review_share:
            return events
        reviews = []
        for organization in ("ministry", "analytical_center"):
            reviewer = f"reviewer-{organization}-{self.rng.randint(1, 20)}"
            events.append(
                self._sealed(
                    "analysis",
                    "ReviewerAssigned",
                    proposal_id,
                    {**base, "reviewer": reviewer, "organization": organization},
                )
            )
            reviews.append((reviewer, organization, new_event_id()))
        for reviewer, organization, review_id in reviews:
            scores = {
                name: self.rng.randint(1, 5)
                for name in ("legal_soundness", "feasibility", "risk_reduction", "innovation_impact")
            }
            payload = {
                **base,
                "review_id": review_id,
                "reviewer": reviewer,
                "organization": organization,
                "proposal_version": 1,
                "scores": scores,
                "recommendation": self.rng.choice(["support", "support_with_changes", "reject"]),
                "rationale": text(self.rng, 25),
            }
            events.append(self._sealed("analysis", "ReviewSubmitted", proposal_id, payload))
        assessment = {
            **base,
            "outcome": self.rng.choice(["recommended", "recommended_with_changes", "not_recommended"]),
            "merged_into": None,
            "rationale": text(self.rng, 20),
            "review_ids": [review_id for _, _, review_id in reviews],
            "late": False,
            "proposal_version": 1,
        }
        events.append(self._sealed("analysis", "ProposalAssessed", proposal_id, assessment))
        return events

    def events(self, count: int, *, analysis: bool = True) -> Iterator[dict[str, Any]]:
        """``count`` events (the consultation's opening first), proposals one after another; with
        ``analysis=False`` only the submission log (what the analysis service consumes)."""
        yield self.opened()
        produced = 1
        while produced < count:
            submitted = self.submitted()
            batch = [submitted, *(self.decisions(submitted) if analysis else [])]
            for writer in self.writers.values():  # after the events it commits to, as the appender does
                if writer.checkpoint_due():
                    batch.append(writer.checkpoint())
            yield from batch[: count - produced]
            produced += len(batch)

    def _sealed(
        self,
        producer: str,
        event_type: str,
        stream_id: str,
        payload: dict[str, Any],
        *,
        causation_id: str | None = None,
    ) -> dict[str, Any]:
        return self.writers[producer].seal(event_type, stream_id, payload, causation_id=causation_id)


async def publish(bootstrap: str, topics: Topics, envelopes: Iterator[dict[str, Any]]) -> int:
    """Send ``envelopes`` to their producers' topics as the relay does (key = stream id, ``acks=all``)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        max_batch_size=1 << 20,
        max_request_size=1 << 24,
    )
    await producer.start()
    pending: list[asyncio.Future[Any]] = []
    sent = 0
    try:
        for envelope in envelopes:
            headers = [
                ("event_type", envelope["event_type"].encode()),
                ("schema_version", b"1"),
                ("event_id", envelope["event_id"].encode()),
                ("log_position", str(envelope["log_position"]).encode()),
            ]
            pending.append(
                await producer.send(
                    topics.of(envelope["producer"]),
                    value=canonical_json_of_decoded(envelope),
                    key=envelope["stream_id"].encode(),
                    headers=headers,
                )
            )
            sent += 1
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent
