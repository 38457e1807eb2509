"""An amendment whose event would be over what a log takes (issue 25: 100,000 control characters, six
bytes each in canonical JSON, carried by ``ProposalAmended``) is refused before anything is appended,
422 ``event_too_large`` naming the field; the portal's next amendment is recorded, and the relay of
submission catches up with its log instead of resending a batch the broker refuses."""

from __future__ import annotations

import uuid

import httpx

from tests.security.conftest import Target, feed_head, json_of
from tests.support.system import proposal_body
from tests.support.waiting import eventually


async def test_an_amendment_too_large_for_the_log_is_refused_and_the_relay_keeps_up(target: Target) -> None:
    url = target.system.url("submission")
    portal = target.header(target.portal_a_token)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        submitted = await client.post(
            f"/v1/consultations/{target.consultation_id}/proposals",
            headers={**portal, "Idempotency-Key": uuid.uuid4().hex},
            json=proposal_body("Amended many times"),
        )
        assert submitted.status_code == 201, submitted.text
        proposal_id = submitted.json()["proposal_id"]
        before = feed_head(target, "submission")
        huge = await client.post(
            f"/v1/proposals/{proposal_id}/amendments",
            headers=portal,
            json={"changes": {"text": "\x01" * 100_000}, "reason": "control characters"},
        )
        assert feed_head(target, "submission") == before, "nothing recorded"
        ordinary = await client.post(
            f"/v1/proposals/{proposal_id}/amendments",
            headers=portal,
            json={"changes": {"title": "Amended once, ordinarily"}, "reason": "a better title"},
        )

        async def relayed() -> bool:
            health = (await client.get("/health")).json()
            return bool(health["relay_position"] == health["log_position"])

        caught_up = await eventually(relayed, until=bool, timeout=60)
    refusal = json_of(huge)
    assert (huge.status_code, refusal["error"]) == (422, "event_too_large"), refusal
    assert refusal["field"] in ("changes", "content")
    assert refusal["field"] in refusal["detail"]
    assert ordinary.status_code in (200, 201), ordinary.text
    assert caught_up
