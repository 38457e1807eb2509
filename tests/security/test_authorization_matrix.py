"""Every endpoint of every service, called with every role's token and with none: each answer is the one
docs/contract.md implies (401 without a token, 403 ``forbidden_role`` for a role the endpoint is not for, and
through for the roles it is for), and no portal can read or change another portal's proposal.

The endpoints come from each running service's own OpenAPI document, and must all be in ``ACCESS``
below: a new endpoint fails this test until someone says who may call it.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from aireg_http.auth import ROLES
from tests.security.conftest import PORTAL_A, PORTAL_B, Target, feed_head, json_of
from tests.support.tokens import TokenFactory

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

PUBLIC = "public"
STAFF_READERS = ("reviewer", "lead", "admin", "auditor")
REPORTING_READERS = ("dashboard", "lead", "reviewer", "admin", "auditor")
ANYONE = ROLES

ACCESS: dict[str, dict[tuple[str, str], tuple[str, ...] | str]] = {
    "submission": {
        ("GET", "/health"): PUBLIC,
        ("GET", "/metrics"): PUBLIC,
        # admin opens consultations; every authenticated caller reads them
        ("POST", "/v1/consultations"): ("admin",),
        ("GET", "/v1/consultations"): ANYONE,
        ("GET", "/v1/consultations/{consultation_id}"): ANYONE,
        # a portal submits, amends, withdraws (its own); staff read every proposal, a portal its own
        ("POST", "/v1/consultations/{consultation_id}/proposals"): ("portal",),
        ("GET", "/v1/proposals"): ("portal", *STAFF_READERS),
        ("GET", "/v1/proposals/{proposal_id}"): ("portal", *STAFF_READERS),
        ("POST", "/v1/proposals/{proposal_id}/amendments"): ("portal",),
        ("POST", "/v1/proposals/{proposal_id}/withdrawal"): ("portal",),
        # admin suspends and resumes portals
        ("POST", "/v1/portals/{portal}/suspension"): ("admin",),
        ("POST", "/v1/portals/{portal}/resumption"): ("admin",),
        ("GET", "/v1/portals/{portal}"): ("admin",),
        # admin erases a data subject's personal data and records and resolves attribution disputes
        ("POST", "/v1/personal-data/erasures"): ("admin",),
        ("POST", "/v1/proposals/{proposal_id}/attribution-disputes"): ("admin",),
        ("POST", "/v1/attribution-disputes/{dispute_id}/resolution"): ("admin",),
        ("GET", "/v1/attribution-disputes"): ("admin",),
        # auditor reads the feed
        ("GET", "/v1/events"): ("auditor",),
    },
    "analysis": {
        ("GET", "/health"): PUBLIC,
        ("GET", "/metrics"): PUBLIC,
        ("GET", "/v1/queue"): ("reviewer", "lead"),
        ("GET", "/v1/campaigns"): ("reviewer", "lead"),
        ("GET", "/v1/proposals/{proposal_id}"): ("reviewer", "lead"),
        ("POST", "/v1/proposals/{proposal_id}/assignments"): ("lead",),
        ("POST", "/v1/proposals/{proposal_id}/reviews"): ("reviewer",),
        ("POST", "/v1/proposals/{proposal_id}/assessment"): ("lead",),
        ("POST", "/v1/proposals/{proposal_id}/campaign-release"): ("lead",),
        ("POST", "/v1/packages"): ("lead",),
        ("GET", "/v1/packages/{package_id}"): ("reviewer", "lead"),
        ("POST", "/v1/packages/{package_id}/items"): ("lead",),
        ("DELETE", "/v1/packages/{package_id}/items/{proposal_id}"): ("lead",),
        ("POST", "/v1/packages/{package_id}/submission"): ("lead",),
        # a lead drafts, evidences, revises and decides measures and puts adopted ones in packages;
        # staff read them
        ("POST", "/v1/measures"): ("lead",),
        ("GET", "/v1/measures"): ("reviewer", "lead"),
        ("GET", "/v1/measures/{measure_id}"): ("reviewer", "lead"),
        ("POST", "/v1/measures/{measure_id}/evidence"): ("lead",),
        ("POST", "/v1/measures/{measure_id}/revision"): ("lead",),
        ("POST", "/v1/measures/{measure_id}/decision"): ("lead",),
        ("POST", "/v1/packages/{package_id}/measures"): ("lead",),
        ("GET", "/v1/events"): ("auditor",),
    },
    "reporting": {
        ("GET", "/health"): PUBLIC,
        ("GET", "/metrics"): PUBLIC,
        ("GET", "/dashboard"): PUBLIC,  # the page holds no data; it asks for a token
        ("GET", "/v1/stats"): REPORTING_READERS,
        ("GET", "/v1/proposals/{proposal_id}/timeline"): REPORTING_READERS,
        ("GET", "/v1/deadlines"): REPORTING_READERS,
        ("GET", "/v1/packages"): REPORTING_READERS,
        ("GET", "/v1/packages/{package_id}/document"): REPORTING_READERS,
        ("GET", "/v1/measures/{measure_id}/trace"): REPORTING_READERS,
        ("GET", "/v1/stream"): REPORTING_READERS,
    },
}


def operations(target: Target, service: str) -> list[tuple[str, str, dict[str, Any]]]:
    document = httpx.get(f"{target.system.url(service)}/openapi.json", timeout=10).json()
    return [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def call(client: httpx.Client, method: str, url: str, headers: dict[str, str], body: bool) -> httpx.Response:
    """One call; an event stream is closed as soon as its status is known (its body left empty)."""
    with client.stream(method, url, headers=headers, json={} if body else None) as response:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return httpx.Response(response.status_code, headers=response.headers, content=b"")
        response.read()
        return response


@pytest.mark.parametrize("service", ["submission", "analysis", "reporting"])
def test_every_endpoint_answers_every_role_and_no_token_as_the_contract_says(
    target: Target, tokens: TokenFactory, service: str
) -> None:
    served = operations(target, service)
    assert {(method, path) for method, path, _ in served} == set(ACCESS[service]), (
        "an endpoint was added or removed: say in ACCESS who may call it"
    )
    callers: dict[str, dict[str, str]] = {"no token": {}}
    for role in ROLES:
        name = PORTAL_A if role == "portal" else f"{role}-matrix"
        organization = "ministry" if role == "reviewer" else None
        callers[role] = tokens.header(role, name, organization)
    heads = {name: feed_head(target, name) for name in ("submission", "analysis")}
    wrong: list[str] = []
    with httpx.Client(timeout=30) as client:
        for method, path, operation in served:
            url = target.system.url(service) + path.format(**target.path_values())
            allowed = ACCESS[service][(method, path)]
            for caller, headers in callers.items():
                response = call(client, method, url, headers, "requestBody" in operation)
                status = response.status_code
                seen = f"{method} {path} as {caller}: {status} {response.text[:150]!r}"
                if status >= 500:
                    wrong.append(seen)
                elif allowed == PUBLIC:
                    if status != 200:
                        wrong.append(seen)
                elif caller == "no token":
                    if status != 401 or json_of(response)["error"] != "missing_token":
                        wrong.append(seen)
                    elif response.headers.get("www-authenticate") != "Bearer":
                        wrong.append(seen + " (no WWW-Authenticate: Bearer)")
                elif caller not in allowed:
                    if status != 403 or json_of(response)["error"] != "forbidden_role":
                        wrong.append(seen)
                elif status in (401, 403):
                    wrong.append(seen)
    assert wrong == []
    # Bodies were empty ({}), so every command the role could give was refused as invalid: nothing recorded.
    assert {name: feed_head(target, name) for name in heads} == heads


def test_no_portal_can_read_or_change_another_portals_proposal(target: Target) -> None:
    url = target.system.url("submission")
    portal_b = target.header(target.portal_b_token)
    heads = {name: feed_head(target, name) for name in ("submission", "analysis")}
    portal_a = target.header(target.portal_a_token)
    with httpx.Client(base_url=url, timeout=30) as client:
        before = client.get(f"/v1/proposals/{target.proposal_a}", headers=portal_a)
        assert before.status_code == 200
        attempts = {
            "read": client.get(f"/v1/proposals/{target.proposal_a}", headers=portal_b),
            "amend": client.post(
                f"/v1/proposals/{target.proposal_a}/amendments",
                headers=portal_b,
                json={"changes": {"title": "Taken over"}, "reason": "mine now"},
            ),
            "withdraw": client.post(
                f"/v1/proposals/{target.proposal_a}/withdrawal", headers=portal_b, json={"reason": "gone"}
            ),
        }
        ghost = str(uuid.uuid4())
        nobodys = client.get(f"/v1/proposals/{ghost}", headers=portal_b)
        for what, response in attempts.items():
            # 404, worded as for a proposal that does not exist: another portal's are not even confirmed
            assert (what, response.status_code, json_of(response)["error"]) == (
                what,
                404,
                "proposal_not_found",
            )
            assert response.text.replace(target.proposal_a, "ID") == nobodys.text.replace(ghost, "ID")
        listed = client.get("/v1/proposals", headers=portal_b, params={"limit": 1000}).json()
        assert {item["portal"] for item in listed["items"]} == {PORTAL_B}
        assert target.proposal_b in {item["proposal_id"] for item in listed["items"]}
        after = client.get(f"/v1/proposals/{target.proposal_a}", headers=portal_a)
        assert after.json() == before.json()
    assert {name: feed_head(target, name) for name in heads} == heads


def test_portals_cannot_read_analysis_or_reporting_even_through_the_stream_query_token(
    target: Target,
) -> None:
    portal = target.portal_a_token
    answers = [
        httpx.get(
            f"{target.system.url('analysis')}/v1/proposals/{target.proposal_a}",
            headers=target.header(portal),
            timeout=10,
        ),
        httpx.get(
            f"{target.system.url('reporting')}/v1/proposals/{target.proposal_a}/timeline",
            headers=target.header(portal),
            timeout=10,
        ),
        httpx.get(f"{target.system.url('reporting')}/v1/stream", headers=target.header(portal), timeout=10),
        httpx.get(f"{target.system.url('reporting')}/v1/stream", params={"token": portal}, timeout=10),
    ]
    # In the URL only a dashboard's token is taken: a portal's is refused before its role is looked at.
    assert [(a.status_code, json_of(a)["error"]) for a in answers] == [(403, "forbidden_role")] * 3 + [
        (401, "token_in_url")
    ]
