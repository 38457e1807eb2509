"""Sealing personal data and the rules of erasure and attribution disputes, as pure functions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from aireg_events.catalogue import CATALOGUE
from aireg_events.catalogue.analysis import ProposalAssessed, ProposalTriaged, TriageMethod
from aireg_events.catalogue.common import Outcome
from aireg_events.catalogue.submission import (
    AttributionDisputeResolved,
    DisputeOutcome,
    SealedSubmitter,
    Submitter,
)
from aireg_events.sealed import SealedValue
from aireg_submission import domain
from aireg_submission.domain import ProposalStatus as S
from aireg_submission.personal_data import (
    DataSubjects,
    SealedValueUnreadable,
    normalized_email,
    seal,
    sealed_submitter,
    unseal,
)

KEY_ID, KEY = "01900000-0000-7000-8000-000000000001", bytes(range(32))
CITIZEN = Submitter(
    name="Мария Иванова",
    kind="citizen",
    registration_number="123-456-789 00",
    contact_email="Maria@Example.org",
)


def test_a_sealed_value_opens_with_its_key_for_its_field_only_and_names_its_key() -> None:
    value = seal(KEY_ID, KEY, "contact_email", "maria@example.org")
    assert value.erased is False and value.key_id == KEY_ID
    assert "maria" not in value.model_dump_json()
    assert unseal(KEY, value, "contact_email") == "maria@example.org"
    with pytest.raises(SealedValueUnreadable):
        unseal(KEY, value, "name")  # the field is bound in: a sealed e-mail cannot pass for a name
    with pytest.raises(SealedValueUnreadable):
        unseal(bytes(32), value, "contact_email")
    assert seal(KEY_ID, KEY, "contact_email", "maria@example.org") == value  # deterministic
    assert seal(KEY_ID, KEY, "contact_email", "other@example.org").parts()[1] != value.parts()[1]


def test_a_citizens_name_number_and_e_mail_are_sealed_an_organizations_name_is_not() -> None:
    citizen = sealed_submitter(KEY_ID, KEY, CITIZEN)
    assert isinstance(citizen.name, SealedValue)
    assert isinstance(citizen.registration_number, SealedValue)
    assert citizen.public_name == "citizen" and citizen.public_registration_number is None
    assert "Иванова" not in citizen.model_dump_json() and "Maria" not in citizen.model_dump_json()
    organization = sealed_submitter(
        KEY_ID,
        KEY,
        Submitter(name="Medical AI Association", kind="industry_association", contact_email="office@ama.org"),
    )
    assert organization.public_name == "Medical AI Association"
    assert isinstance(organization.contact_email, SealedValue)


def test_events_refuse_a_citizens_name_or_any_e_mail_in_plain_text() -> None:
    sealed = sealed_submitter(KEY_ID, KEY, CITIZEN).model_dump(mode="json")
    with pytest.raises(ValidationError):
        SealedSubmitter.model_validate({**sealed, "name": "Мария Иванова"})
    with pytest.raises(ValidationError):
        SealedSubmitter.model_validate({**sealed, "contact_email": "maria@example.org"})
    with pytest.raises(ValidationError):
        SealedValue.model_validate({"erased": True, "sealed": sealed["contact_email"]["sealed"]})
    assert SealedValue.model_validate({"erased": True}).key_id is None


def test_the_data_subject_is_the_normalized_e_mail_found_by_a_keyed_digest() -> None:
    assert normalized_email("  Maria@Example.ORG ") == "maria@example.org"
    subjects = DataSubjects(b"a digest secret of thirty-two by")
    digest = subjects.subject_digest("Maria@Example.org")
    assert digest == subjects.subject_digest("maria@example.org ")
    assert digest != DataSubjects(b"another secret of thirty-two byt").subject_digest("maria@example.org")


def test_a_v1_submission_with_plain_personal_data_reads_as_erased() -> None:
    payload = {
        "content": {"submitter": {"name": "Мария", "kind": "citizen", "contact_email": "maria@example.org"}},
        "changes": {},
    }
    upcast = CATALOGUE.upcast("ProposalAmended", 1, payload)
    assert upcast["content"]["submitter"] == {
        "name": {"erased": True},
        "kind": "citizen",
        "contact_email": {"erased": True},
    }


def resolved(outcome: DisputeOutcome) -> AttributionDisputeResolved:
    return AttributionDisputeResolved(
        dispute_id="d1", proposal_id="p1", consultation_id="c1", outcome=outcome, rationale="r"
    )


def test_an_upheld_dispute_sets_the_proposal_aside_for_good_a_rejected_one_changes_nothing() -> None:
    assert domain.status_after_resolution(S.assessed, resolved(DisputeOutcome.upheld)) is S.misattributed
    assert domain.status_after_resolution(S.assessed, resolved(DisputeOutcome.rejected)) is S.assessed
    triaged = ProposalTriaged(
        proposal_id="p1",
        consultation_id="c1",
        proposal_version=1,
        complete=True,
        method=TriageMethod(name="m", version="1", parameters={}),
    )
    assert domain.status_after(S.misattributed, triaged) is S.misattributed
    assessed = ProposalAssessed(
        proposal_id="p1", consultation_id="c1", outcome=Outcome.recommended, rationale="r", review_ids=[]
    )
    assert domain.status_after(S.misattributed, assessed) is S.misattributed


def test_a_dispute_is_resolved_once_and_an_unknown_subject_cannot_be_erased() -> None:
    open_dispute = domain.Dispute("d1", "p1", "c1", resolved=False)
    event = domain.resolve_dispute(
        open_dispute, dispute_id="d1", outcome=DisputeOutcome.upheld, rationale="r"
    )
    assert event.proposal_id == "p1"
    with pytest.raises(domain.DisputeAlreadyResolved):
        domain.resolve_dispute(
            domain.Dispute("d1", "p1", "c1", resolved=True),
            dispute_id="d1",
            outcome=DisputeOutcome.rejected,
            rationale="r",
        )
    with pytest.raises(domain.DisputeNotFound):
        domain.resolve_dispute(None, dispute_id="d9", outcome=DisputeOutcome.upheld, rationale="r")
    with pytest.raises(domain.DataSubjectNotFound):
        domain.erase_personal_data(
            erasure_id="e1", subject_digest="0" * 64, key_id=None, proposals=[], reason="r", legal_basis="b"
        )
