"""Fuzzing each running service with schemathesis, from its own OpenAPI document: every operation gets
generated requests that fit the document (positive) and requests that break it (negative), with a token
of a role the operation is for, and a few without a token. No answer may be a 5xx, and every answer must
conform to the document: a status it declares, its media type, its schema.

Bounded and repeatable: at most ``EXAMPLES`` examples per operation and mode, derandomized (the same
requests every run), no shrinking. The live stream (``GET /v1/stream``) answers forever and is left to
the other tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.conftest import Target
from tests.security.test_authorization_matrix import ACCESS, PUBLIC
from tests.support.system import proposal_body
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
WITHOUT_TOKEN = 3
NOT_FUZZED = {("reporting", "GET", "/v1/stream")}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ_PORTAL = "portal-fuzz"


@dataclass
class Campaign:
    """What the fuzzer ran and what it found."""

    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def fuzz_records(target: Target, tokens: TokenFactory) -> dict[str, str]:
    """Records of the fuzzer's own (a proposal of its portal, a package): the fuzzer changes them."""
    import asyncio

    system = target.system
    portal = tokens.header("portal", FUZZ_PORTAL)
    lead = tokens.header("lead", "lead-fuzz")
    submitted = httpx.post(
        f"{system.url('submission')}/v1/consultations/{target.consultation_id}/proposals",
        headers={**portal, "Idempotency-Key": uuid.uuid4().hex},
        json=proposal_body("Fuzzed proposal"),
        timeout=30,
    )
    assert submitted.status_code == 201, submitted.text
    proposal_id = submitted.json()["proposal_id"]
    package = httpx.post(
        f"{system.url('analysis')}/v1/packages",
        headers=lead,
        json={"consultation_id": target.consultation_id, "title": "Fuzzed package"},
        timeout=30,
    )
    assert package.status_code == 201, package.text

    async def triaged() -> int:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(f"{system.url('analysis')}/v1/proposals/{proposal_id}", headers=lead)
            return answer.status_code

    asyncio.run(eventually(triaged, until=lambda status: status == 200, timeout=60))
    return {
        "consultation_id": target.consultation_id,
        "proposal_id": proposal_id,
        "package_id": package.json()["package_id"],
        "portal": FUZZ_PORTAL,
    }


def caller(tokens: TokenFactory, allowed: tuple[str, ...] | str) -> dict[str, str]:
    if allowed == PUBLIC:
        return {}
    role = allowed[0]
    name = FUZZ_PORTAL if role == "portal" else f"{role}-fuzz"
    return tokens.header(role, name, "ministry" if role == "reviewer" else None)


def fuzz(
    operation: Any,
    campaign: Campaign,
    *,
    base_url: str,
    headers: dict[str, str],
    mode: GenerationMode,
    examples: int,
    path_parameters: dict[str, str] | None,
) -> None:
    checks = CHECKS + ([negative_data_rejection] if mode == GenerationMode.NEGATIVE and headers else [])

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        campaign.requests += 1
        campaign.statuses[response.status_code] = campaign.statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=checks, headers=headers)

    try:
        run()
    except Unsatisfiable:
        pass  # nothing to negate (no parameter, no body): no invalid request exists
    except (Exception, BaseExceptionGroup) as error:  # one failure per operation and mode is enough
        label = (
            f"{operation.method.upper()} {operation.path} ({mode.value}, {'token' if headers else 'none'})"
        )
        campaign.failures.append(f"{label}: {str(error)[:1500]}")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("service", ["submission", "analysis", "reporting"])
def test_fuzzing_finds_no_server_error_and_no_answer_outside_the_document(
    target: Target, tokens: TokenFactory, fuzz_records: dict[str, str], service: str
) -> None:
    base_url = target.system.url(service)
    document = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    campaign = Campaign()
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert operations
    for operation in operations:
        key = (operation.method.upper(), operation.path)
        if (service, *key) in NOT_FUZZED:
            continue
        headers = caller(tokens, ACCESS[service][key])
        known = {
            name: fuzz_records[name] for name in fuzz_records if "{" + name + "}" in operation.path
        } or None
        for mode, examples in EXAMPLES.items():
            fuzz(
                operation,
                campaign,
                base_url=base_url,
                headers=headers,
                mode=mode,
                examples=examples,
                # valid requests go to records that exist, to get past "not found"; invalid ones anywhere
                path_parameters=known if mode == GenerationMode.POSITIVE else None,
            )
        if headers:
            fuzz(
                operation,
                campaign,
                base_url=base_url,
                headers={},
                mode=GenerationMode.POSITIVE,
                examples=WITHOUT_TOKEN,
                path_parameters=known,
            )
    print(
        f"[figures] fuzzing {service}: {campaign.requests} requests, statuses {dict(sorted(campaign.statuses.items()))}"
    )
    assert campaign.failures == [], "\n\n".join(campaign.failures)
    assert campaign.requests >= len(operations) * 10
