"""``aireg openapi submission`` describes every endpoint of the contract, its body, and every error a
client must handle, by status and machine code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ENDPOINTS: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v1/consultations"): {
        "body": "ConsultationCreate",
        "codes": {409: ["consultation_code_taken"], 422: ["deadlines_out_of_order", "validation_failed"]},
    },
    ("get", "/v1/consultations"): {"codes": {}},
    ("get", "/v1/consultations/{consultation_id}"): {"codes": {404: ["consultation_not_found"]}},
    ("post", "/v1/consultations/{consultation_id}/proposals"): {
        "body": "ProposalBody",
        "codes": {
            403: ["forbidden_role", "portal_suspended"],
            404: ["consultation_not_found"],
            409: ["submission_window_closed", "idempotency_key_reused"],
            413: ["payload_too_large"],
            422: ["validation_failed", "idempotency_key_required", "idempotency_key_invalid"],
        },
    },
    ("get", "/v1/proposals"): {"codes": {403: ["portal_suspended"]}},
    ("get", "/v1/proposals/{proposal_id}"): {"codes": {404: ["proposal_not_found"]}},
    ("post", "/v1/proposals/{proposal_id}/amendments"): {
        "body": "AmendmentRequest",
        "codes": {
            404: ["proposal_not_found"],
            409: ["proposal_withdrawn", "proposal_misattributed", "amendment_window_closed"],
            422: ["amendment_changes_nothing"],
        },
    },
    ("post", "/v1/proposals/{proposal_id}/withdrawal"): {
        "body": "WithdrawalRequest",
        "codes": {
            404: ["proposal_not_found"],
            409: ["proposal_withdrawn", "proposal_misattributed", "withdrawal_window_closed"],
        },
    },
    ("post", "/v1/personal-data/erasures"): {
        "body": "ErasureRequest",
        "codes": {403: ["forbidden_role"], 404: ["data_subject_not_found"], 422: ["validation_failed"]},
    },
    ("post", "/v1/proposals/{proposal_id}/attribution-disputes"): {
        "body": "DisputeCreate",
        "codes": {403: ["forbidden_role"], 404: ["proposal_not_found"]},
    },
    ("post", "/v1/attribution-disputes/{dispute_id}/resolution"): {
        "body": "DisputeResolution",
        "codes": {404: ["dispute_not_found"], 409: ["dispute_already_resolved"]},
    },
    ("get", "/v1/attribution-disputes"): {"codes": {403: ["forbidden_role"]}},
    ("post", "/v1/portals/{portal}/suspension"): {
        "body": "SuspensionRequest",
        "codes": {409: ["portal_already_suspended"]},
    },
    ("post", "/v1/portals/{portal}/resumption"): {"codes": {409: ["portal_not_suspended"]}},
    ("get", "/v1/events"): {"codes": {403: ["forbidden_role"]}},
    ("get", "/health"): {"codes": {}},
    ("get", "/metrics"): {"codes": {}},
}

CONTRACT_VALUES = {
    "Direction": 7,
    "Question": 6,
    "Position": 3,
    "SubmitterKind": 8,
    "Instrument": 7,
    "Approach": 3,
    "CostOfError": 4,
    "ApplicationArea": 10,
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    command = Path(sys.executable).parent / "aireg"
    result = subprocess.run(
        [str(command), "openapi", "submission"], capture_output=True, text=True, check=True, timeout=120
    )
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_every_endpoint_is_described_with_its_body_and_its_errors(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for (method, path), expected in ENDPOINTS.items():
        operation = paths[path][method]
        if "body" in expected:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert schema.get("$ref", "").endswith("/" + expected["body"]) or expected["body"] in json.dumps(
                schema
            ), (method, path)
        if path.startswith("/v1/"):
            assert {"401", "403", "422"} <= set(operation["responses"]), (method, path)
        for status, codes in expected["codes"].items():
            description = operation["responses"][str(status)]["description"]
            for code in codes:
                # the machine code as a word: a command route's list comes from its handler's rules
                assert re.search(rf"\b{code}\b", description), (method, path, status, code)
            assert operation["responses"][str(status)]["content"]["application/json"]["schema"][
                "$ref"
            ].endswith("/ErrorBody")


def test_the_intake_asks_for_the_idempotency_key_and_answers_with_a_signed_receipt(
    document: dict[str, Any],
) -> None:
    operation = document["paths"]["/v1/consultations/{consultation_id}/proposals"]["post"]
    [header] = [parameter for parameter in operation["parameters"] if parameter["in"] == "header"]
    assert header["name"] == "Idempotency-Key"
    answer = document["components"]["schemas"]["SubmissionAnswer"]
    assert {
        "proposal_id",
        "registration_number",
        "status",
        "submitted_at",
        "event_id",
        "receipt",
        "late",
    } <= set(answer["properties"])
    receipt = document["components"]["schemas"]["Receipt"]
    assert {
        "registration_number",
        "proposal_id",
        "event_id",
        "log_position",
        "event_hash",
        "received_at",
    } <= set(receipt["properties"])
    assert {"key_id", "signature"} <= set(receipt["properties"])


def test_the_body_lists_the_value_sets_of_the_contract(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name, count in CONTRACT_VALUES.items():
        assert len(schemas[name]["enum"]) == count, name
    content = schemas["ProposalBody"]
    assert content["additionalProperties"] is False
    assert content["properties"]["title"]["maxLength"] == 300
    assert content["properties"]["summary"]["maxLength"] == 2000
    assert content["properties"]["text"]["maxLength"] == 100_000
    assert set(content["required"]) >= {"submitter", "title", "summary", "text", "directions", "questions"}
    statuses = schemas["ProposalStatus"]["enum"]
    assert set(statuses) == {
        "submitted",
        "under_review",
        "assessed",
        "forwarded_to_government",
        "withdrawn",
        "rejected_as_duplicate",
        "misattributed",
    }


def test_the_document_shows_which_fields_are_sealed_and_what_readers_see(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    sealed = schemas["SealedValue"]
    assert set(sealed["properties"]) == {"erased", "sealed"}
    assert '{"erased": true}' in sealed["description"]
    submitter = schemas["SubmitterPublic"]["properties"]
    for field in ("name", "registration_number", "contact_email"):
        assert "#/components/schemas/SealedValue" in json.dumps(submitter[field]), field
        assert "personal data" in submitter[field]["description"], field
    assert "plain text" in document["paths"]["/v1/proposals/{proposal_id}"]["get"]["description"]
