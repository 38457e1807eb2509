"""No secret is stored or logged in clear: after real traffic through all three services (a proposal
submitted, read, amended, triaged, shown in reporting; refusals that carry the same data; tokens good and
bad), the services' own log output holds no token, no e-mail address and no phrase of a proposal's text;
no store holds a token; private keys are readable by their owner only."""

from __future__ import annotations

import json
import os
import stat
import uuid

import httpx
import pytest

from aireg_cli.keys import KeyRing
from aireg_cli.stack import SERVICES
from tests.security.conftest import SECRET_EMAIL, SECRET_PHRASE, Target
from tests.support.system import proposal_body
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

AMENDED_PHRASE = "a walrus-grade audit trail for every triage model"


async def test_logs_hold_no_token_email_or_proposal_text(target: Target, tokens: TokenFactory) -> None:
    system = target.system
    portal = target.header(target.portal_a_token)
    lead_token = tokens("lead", "lead-logs")
    lead = {"Authorization": f"Bearer {lead_token}"}
    dashboard = tokens.header("dashboard", "dashboard-logs")
    secret_body = proposal_body(
        "Secret-bearing proposal",
        text=f"In confidence: {SECRET_PHRASE}.",
        submitter={"name": "Hospital 17", "kind": "government_body", "contact_email": SECRET_EMAIL},
    )
    async with httpx.AsyncClient(timeout=30) as client:
        submission = system.url("submission")
        created = await client.post(
            f"{submission}/v1/consultations/{target.consultation_id}/proposals",
            headers={**portal, "Idempotency-Key": uuid.uuid4().hex},
            json=secret_body,
        )
        assert created.status_code == 201, created.text
        proposal_id = created.json()["proposal_id"]
        amended = await client.post(
            f"{submission}/v1/proposals/{proposal_id}/amendments",
            headers=portal,
            json={"changes": {"text": f"Amended: {AMENDED_PHRASE}."}, "reason": "clearer"},
        )
        assert amended.status_code == 200, amended.text
        # Refusals that carry the same data: invalid fields, a NUL, an unknown field, bad tokens.
        refusals = [
            await client.post(
                f"{submission}/v1/consultations/{target.consultation_id}/proposals",
                headers={**portal, "Idempotency-Key": uuid.uuid4().hex},
                content=json.dumps({**secret_body, "text": f"{SECRET_PHRASE}\x00"}).encode(),
            ),
            await client.post(
                f"{submission}/v1/consultations/{target.consultation_id}/proposals",
                headers={**portal, "Idempotency-Key": uuid.uuid4().hex},
                json={**secret_body, "secret": SECRET_EMAIL},
            ),
            await client.post(
                f"{submission}/v1/consultations/{target.consultation_id}/proposals",
                headers={**portal, "Idempotency-Key": uuid.uuid4().hex},
                json={**secret_body, "submitter": {**secret_body["submitter"], "contact_email": "x@"}},
            ),
            await client.get(
                f"{submission}/v1/proposals/{proposal_id}",
                headers={"Authorization": f"Bearer {target.portal_a_token}x"},
            ),
            await client.get(f"{system.url('analysis')}/v1/queue", headers=portal),
        ]
        assert [r.status_code for r in refusals] == [422, 422, 422, 401, 403]

        async def seen_downstream() -> bool:
            detail = await client.get(f"{system.url('analysis')}/v1/proposals/{proposal_id}", headers=lead)
            timeline = await client.get(
                f"{system.url('reporting')}/v1/proposals/{proposal_id}/timeline", headers=dashboard
            )
            return (
                detail.status_code == 200
                and AMENDED_PHRASE in detail.text
                and timeline.status_code == 200
                and "ProposalAmended" in timeline.text
            )

        await eventually(seen_downstream, until=bool, timeout=60)

    secrets = {
        "portal token": target.portal_a_token,
        "lead token": lead_token,
        "a token's signature": target.portal_a_token.rsplit(".", 1)[1],
        "e-mail": SECRET_EMAIL,
        "proposal text": SECRET_PHRASE,
        "amended text": AMENDED_PHRASE,
    }
    for name in SERVICES:
        log = "\n".join(system.log_lines(name))
        assert "Application startup complete" in log, f"{name} logged nothing: the test would prove nothing"
        leaked = [what for what, secret in secrets.items() if secret in log]
        assert leaked == [], f"{name} logged: {leaked}"
        assert "Bearer " not in log
        assert "@hospital-17" not in log


async def test_no_store_holds_a_token_and_private_keys_are_owner_only(
    target: Target, tokens: TokenFactory, keys: KeyRing
) -> None:
    system = target.system
    token = target.portal_a_token
    claims, signature = token.split(".")[1:]
    tables = (
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        if system.backend == "postgresql"
        else "SELECT name FROM sqlite_master WHERE type = 'table'"
    )
    scanned = 0
    for name in SERVICES:
        for (table,) in await system.rows(name, tables):
            for row in await system.rows(name, f'SELECT * FROM "{table}"'):
                text = " ".join(str(value) for value in row)
                scanned += 1
                assert signature not in text and claims not in text and "Bearer" not in text, (name, table)
    assert scanned > 10, "the stores were empty: the test would prove nothing"
    for private in [keys.token_private, keys.signing_private("submission"), keys.signing_private("analysis")]:
        assert stat.S_IMODE(os.stat(private).st_mode) == 0o600, private
