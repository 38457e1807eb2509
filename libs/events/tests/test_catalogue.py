"""The catalogue reads every event of the contract, and old versions through their upcasters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import pytest
from pydantic import ValidationError

from aireg_events.catalogue import CATALOGUE, EventRegistry, UnknownEventType
from aireg_events.catalogue.common import DomainEvent
from aireg_events.envelope import GENESIS_HASH, Actor, Envelope, new_event_id

CONTRACT_EVENTS = {
    "ConsultationOpened",
    "ProposalSubmitted",
    "ProposalAmended",
    "ProposalWithdrawn",
    "PortalSuspended",
    "PortalResumed",
    "PersonalDataErased",
    "AttributionDisputed",
    "AttributionDisputeResolved",
    "ProposalTriaged",
    "ReviewerAssigned",
    "ReviewSubmitted",
    "ProposalAssessed",
    "ProposalForwardedToGovernment",
    "GovernmentPackageSubmitted",
    "MeasureDrafted",
    "ProposalLinkedToMeasure",
    "MeasureRevised",
    "MeasureDecided",
    "MeasureForwardedToGovernment",
    "ChainCheckpoint",
}


def test_every_event_type_of_the_contract_is_in_the_catalogue() -> None:
    assert {event.event_type for event in CATALOGUE.types()} >= CONTRACT_EVENTS


def _envelope(event_type: str, version: int, payload: dict[str, object]) -> Envelope:
    return Envelope.seal(
        event_id=new_event_id(),
        event_type=event_type,
        schema_version=version,
        stream_id="s",
        stream_version=1,
        log_position=1,
        occurred_at=datetime.now(UTC),
        producer="submission",
        correlation_id="c",
        actor=Actor.system("t"),
        payload=payload,
        prev_hash=GENESIS_HASH,
    )


class PortalRenamedV2(DomainEvent):
    """Version 2 split ``name`` (v1) into ``portal`` and ``display_name``."""

    event_type: ClassVar[str] = "PortalRenamed"
    schema_version: ClassVar[int] = 2
    producer: ClassVar[str] = "submission"
    stream_field: ClassVar[str] = "portal"

    portal: str
    display_name: str


def test_an_old_version_is_read_through_its_upcaster() -> None:
    registry = EventRegistry([PortalRenamedV2])
    registry.register_upcaster(
        "PortalRenamed", 1, lambda v1: {"portal": v1["name"].lower(), "display_name": v1["name"]}
    )
    event = registry.read(_envelope("PortalRenamed", 1, {"name": "GosUslugi"}))
    assert event == PortalRenamedV2(portal="gosuslugi", display_name="GosUslugi")
    current = registry.read(_envelope("PortalRenamed", 2, {"portal": "p", "display_name": "P"}))
    assert current == PortalRenamedV2(portal="p", display_name="P")


def test_a_version_without_an_upcaster_or_from_the_future_is_refused() -> None:
    registry = EventRegistry([PortalRenamedV2])
    with pytest.raises(UnknownEventType, match="no upcaster"):
        registry.read(_envelope("PortalRenamed", 1, {"name": "x"}))
    with pytest.raises(UnknownEventType, match="newer"):
        registry.read(_envelope("PortalRenamed", 3, {}))
    with pytest.raises(UnknownEventType, match="unknown event type"):
        registry.read(_envelope("NoSuchEvent", 1, {}))


def test_events_are_frozen_and_refuse_unknown_fields() -> None:
    model = CATALOGUE.model("ProposalWithdrawn")
    event = model.model_validate({"proposal_id": "p", "consultation_id": "c", "portal": "x", "reason": "r"})
    with pytest.raises(ValidationError):
        event.reason = "other"
    with pytest.raises(ValidationError):
        model.model_validate(
            {"proposal_id": "p", "consultation_id": "c", "portal": "x", "reason": "r", "extra": 1}
        )


def test_the_asyncapi_document_shows_which_fields_are_sealed_and_what_readers_see() -> None:
    import json

    from aireg_events.asyncapi import asyncapi_document

    schemas = asyncapi_document()["components"]["schemas"]
    sealed = schemas["SealedValue"]
    assert set(sealed["properties"]) == {"erased", "sealed"} and '{"erased": true}' in sealed["description"]
    submitter = schemas["SealedSubmitter"]["properties"]
    assert submitter["contact_email"]["description"] == "always sealed"
    for field in ("name", "registration_number"):
        assert "sealed when `kind` is `citizen`" in submitter[field]["description"]
        assert "#/components/schemas/SealedValue" in json.dumps(submitter[field])
    assert "SealedSubmitter" in json.dumps(schemas["ProposalContent"]["properties"]["submitter"])
    assert "#/components/schemas/SealedValue" in json.dumps(
        schemas["AttributionDisputed"]["properties"]["complainant"]
    )


def test_an_assessment_written_before_risks_existed_still_parses_with_no_risks() -> None:
    envelope = _envelope(
        "ProposalAssessed",
        1,
        {
            "proposal_id": "p",
            "consultation_id": "c",
            "outcome": "recommended",
            "rationale": "r",
            "review_ids": ["a", "b"],
        },
    )
    event = CATALOGUE.read(envelope)
    assert event.risks_of_adoption == [] and event.risks_of_rejection == []


def test_the_asyncapi_document_lists_the_measure_events() -> None:
    from aireg_events.asyncapi import asyncapi_document

    document = asyncapi_document()
    names = set(document["components"]["messages"])
    assert {"MeasureDrafted", "ProposalLinkedToMeasure", "MeasureRevised", "MeasureDecided"} <= names
    assert "MeasureForwardedToGovernment" in names
