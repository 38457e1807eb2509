"""The command handlers of the submission service, through the message bus, on a real database (SQLite and
PostgreSQL), with no HTTP app and no broker: each command answers with the state its events made, records
them as the caller, and a refusal reaches the caller as raised and records nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from aireg_events.bus import Caller, MessageBus
from aireg_events.catalogue.common import LateSubmissions
from aireg_events.catalogue.submission import (
    ConsultationLanguage,
    DisputeOutcome,
    ProposalBody,
    ProposalContent,
    Submitter,
)
from aireg_events.envelope import Actor, Envelope
from aireg_events.log.database import Database
from aireg_events.log.tables import event_log
from aireg_events.sealed import SealedValue
from aireg_submission import commands, domain
from aireg_submission.handlers import HANDLERS
from aireg_submission.personal_data import DataSubjectKeyRow, DataSubjects
from aireg_submission.store import ProposalRow
from services.submission.tests.harness import START, MovableClock, proposal_body

ADMIN = Caller(Actor(role="admin", name="admin-1"), correlation_id="0190aaaa-0000-7000-8000-0000000000aa")
UNKNOWN_ID = "01a20000-0000-7000-8000-000000000000"
CITIZEN = Submitter(
    name="Пётр Сидоров",
    kind="citizen",
    registration_number="СНИЛС 112-233-445 95",
    contact_email="petr@example.org",
)


def portal(name: str = "portal-a") -> Caller:
    return Caller(Actor(role="portal", name=name))


async def logged(database: Database) -> list[Envelope]:
    async with database.read_session() as session:
        rows = (await session.execute(select(event_log.c.body).order_by(event_log.c.log_position))).all()
    return [Envelope.from_json(body) for (body,) in rows]


def consultation(code: str = "AI-2030", **change: Any) -> commands.OpenConsultation:
    fields: dict[str, Any] = {
        "code": code,
        "title": "AI regulation",
        "description": "The call",
        "submission_opens_at": START - timedelta(days=1),
        "submission_closes_at": START + timedelta(days=30),
        "analysis_due_at": START + timedelta(days=60),
        "forwarding_due_at": START + timedelta(days=90),
        "late_submissions": LateSubmissions.reject,
        "time_zone": "UTC",
        "language": ConsultationLanguage.en,
    }
    return commands.OpenConsultation(**{**fields, **change})


async def opened(bus: MessageBus[DataSubjects], code: str = "AI-2030", **change: Any) -> str:
    return str((await bus.handle(consultation(code, **change), ADMIN)).consultation_id)


def submission(
    bus: MessageBus[DataSubjects],
    consultation_id: str,
    *,
    key: str = "key-1",
    portal: str = "portal-a",
    **change: Any,
) -> commands.SubmitProposal:
    body = ProposalBody.model_validate(proposal_body(**change))
    return commands.SubmitProposal(
        consultation_id=consultation_id,
        portal=portal,
        idempotency_key=key,
        request_fingerprint=domain.request_fingerprint(body, bus.dependencies.digest),
        body=body,
    )


async def submitted(bus: MessageBus[DataSubjects], consultation_id: str, **change: Any) -> str:
    registration = await bus.handle(submission(bus, consultation_id, **change), portal())
    return str(registration.proposal_id)


def amendment(proposal_id: str, changes: dict[str, Any], **change: Any) -> commands.AmendProposal:
    fields: dict[str, Any] = {
        "proposal_id": proposal_id,
        "portal": "portal-a",
        "changes": changes,
        "submitter": None,
        "reason": "clarified after a hearing",
    }
    return commands.AmendProposal(**{**fields, **change})


def withdrawal(proposal_id: str, portal: str = "portal-a") -> commands.WithdrawProposal:
    return commands.WithdrawProposal(proposal_id=proposal_id, portal=portal, reason="merged elsewhere")


async def test_a_consultation_is_opened_once_per_code_with_its_deadlines_in_order(
    bus: MessageBus[DataSubjects], database: Database
) -> None:
    row = await bus.handle(consultation(time_zone="Europe/Moscow", language=ConsultationLanguage.ru), ADMIN)
    assert (row.code, row.time_zone, row.language) == ("AI-2030", "Europe/Moscow", "ru")
    assert row.submission_closes_at == START + timedelta(days=30)

    with pytest.raises(domain.ConsultationCodeTaken):
        await bus.handle(consultation(), ADMIN)
    with pytest.raises(domain.DeadlinesOutOfOrder):
        await bus.handle(consultation("AI-2031", analysis_due_at=START + timedelta(days=29)), ADMIN)

    [event] = await logged(database)
    assert (event.event_type, event.stream_id, event.actor) == (
        "ConsultationOpened",
        row.consultation_id,
        ADMIN.actor,
    )
    assert event.correlation_id == ADMIN.correlation_id
    assert event.event_id == row.event_id


async def test_a_proposal_is_registered_once_per_key_and_a_retry_gets_the_same_registration(
    bus: MessageBus[DataSubjects], database: Database, clock: MovableClock
) -> None:
    consultation_id = await opened(bus)
    other_consultation = await opened(bus, "AI-2030-b")

    first = await bus.handle(submission(bus, consultation_id, key="retry-me"), portal())
    assert first.registration_number == f"AIREG-{START.year}-000001"
    assert (first.received_at, first.late) == (START, False)
    clock.move_to(
        START + timedelta(days=31)
    )  # after the window: a retry of an accepted proposal still answers
    assert await bus.handle(submission(bus, consultation_id, key="retry-me"), portal()) == first
    clock.move_to(START)

    with pytest.raises(domain.IdempotencyKeyReused):
        await bus.handle(submission(bus, consultation_id, key="retry-me", title="Another idea"), portal())
    with pytest.raises(domain.IdempotencyKeyReused):
        await bus.handle(submission(bus, other_consultation, key="retry-me"), portal())
    with pytest.raises(domain.ConsultationNotFound):
        await bus.handle(submission(bus, UNKNOWN_ID), portal())
    other_portal = await bus.handle(
        submission(bus, consultation_id, key="retry-me", portal="portal-b"), portal("portal-b")
    )
    assert other_portal.proposal_id != first.proposal_id, "keys are kept per portal"
    assert other_portal.registration_number == f"AIREG-{START.year}-000002"

    events = [event for event in await logged(database) if event.event_type == "ProposalSubmitted"]
    assert [event.stream_id for event in events] == [first.proposal_id, other_portal.proposal_id]
    event = events[0]
    assert (event.event_id, event.log_position, event.hash) == (
        first.submitted_event_id,
        first.submitted_log_position,
        first.submitted_event_hash,
    )
    assert event.actor == portal().actor
    assert event.payload["idempotency_key"] == "retry-me" and event.payload["portal"] == "portal-a"
    sealed_email = event.payload["content"]["submitter"]["contact_email"]
    assert sealed_email["erased"] is False and sealed_email["sealed"].startswith("aes256gcm:")
    assert "office@medinf.example.org" not in event.model_dump_json(), "the log holds the e-mail sealed only"


async def test_consultations_of_one_year_take_a_series_each_until_ten_are_taken(
    bus: MessageBus[DataSubjects],
) -> None:
    idle = await opened(bus, "idle")  # nobody submits to it: it takes no series
    consultations = [await opened(bus, f"call-{index}") for index in range(11)]
    numbers = [
        (
            await bus.handle(submission(bus, consultation_id, key=consultation_id), portal())
        ).registration_number
        for consultation_id in consultations[:10]
    ]
    second = await bus.handle(submission(bus, consultations[0], key="key-2"), portal())

    assert numbers == [f"AIREG-{START.year}-{series}00001" for series in range(10)]
    assert second.registration_number == f"AIREG-{START.year}-000002"
    with pytest.raises(domain.RegistrationNumbersExhausted):
        await bus.handle(submission(bus, consultations[10]), portal())
    assert idle not in consultations


async def test_outside_the_window_a_submission_is_refused_and_uses_no_number_unless_late_ones_are_accepted(
    bus: MessageBus[DataSubjects], database: Database, clock: MovableClock
) -> None:
    not_yet = await opened(bus, "not-yet", submission_opens_at=START + timedelta(days=1))
    closing = await opened(bus, "closing", submission_closes_at=START + timedelta(hours=1))
    late_ones = await opened(
        bus,
        "late",
        submission_opens_at=START - timedelta(days=9),
        submission_closes_at=START - timedelta(days=1),
        late_submissions=LateSubmissions.accept_and_label,
    )
    before = await logged(database)

    with pytest.raises(domain.SubmissionWindowClosed):
        await bus.handle(submission(bus, not_yet), portal())
    clock.move_to(START + timedelta(hours=1, microseconds=1))
    with pytest.raises(domain.SubmissionWindowClosed):
        await bus.handle(submission(bus, closing), portal())
    assert await logged(database) == before

    clock.move_to(START + timedelta(hours=1))
    on_the_dot = await bus.handle(submission(bus, closing), portal())
    assert on_the_dot.late is False, "submission_closes_at itself is still inside the window"
    assert on_the_dot.registration_number.endswith("00001"), "the refusals used no number"
    late = await bus.handle(submission(bus, late_ones, key="late"), portal())
    assert late.late is True
    [event] = [event for event in await logged(database) if event.stream_id == late.proposal_id]
    assert event.payload["late"] is True


async def test_the_submitting_portal_amends_its_proposal_and_what_breaks_the_rules_records_nothing(
    bus: MessageBus[DataSubjects], database: Database, clock: MovableClock
) -> None:
    consultation_id = await opened(bus, submission_closes_at=START + timedelta(days=3))
    proposal_id = await submitted(bus, consultation_id)
    clock.move_to(START + timedelta(days=2))

    row = await bus.handle(
        amendment(proposal_id, {"title": "Certify diagnostic AI", "instrument": "certification"}), portal()
    )
    assert (row.version, row.status, row.amended_at) == (2, "submitted", START + timedelta(days=2))
    assert row.content["title"] == "Certify diagnostic AI"
    before = await logged(database)
    amended = before[-1]
    assert (amended.event_type, amended.stream_version) == ("ProposalAmended", 2)
    assert amended.payload["changes"] == {"title": "Certify diagnostic AI"}, "an unchanged field is no change"
    assert amended.event_id == row.last_event_id and amended.actor == portal().actor

    with pytest.raises(domain.ProposalNotFound):
        await bus.handle(amendment(proposal_id, {"title": "Hijacked"}, portal="portal-b"), portal("portal-b"))
    with pytest.raises(domain.ProposalNotFound):
        await bus.handle(amendment(UNKNOWN_ID, {"title": "Nobody's"}), portal())
    with pytest.raises(domain.InvalidAmendment):
        await bus.handle(amendment(proposal_id, {"positions": {"training_data": "oppose"}}), portal())
    with pytest.raises(domain.AmendmentChangesNothing):
        await bus.handle(amendment(proposal_id, {"title": "Certify diagnostic AI"}), portal())
    clock.move_to(START + timedelta(days=3, seconds=1))
    with pytest.raises(domain.AmendmentWindowClosed):
        await bus.handle(amendment(proposal_id, {"title": "Too late"}), portal())
    with pytest.raises(domain.WithdrawalWindowClosed):
        await bus.handle(withdrawal(proposal_id), portal())

    assert await logged(database) == before


async def test_a_withdrawn_proposal_can_be_neither_amended_nor_withdrawn_again(
    bus: MessageBus[DataSubjects], database: Database
) -> None:
    proposal_id = await submitted(bus, await opened(bus))

    with pytest.raises(domain.ProposalNotFound):
        await bus.handle(withdrawal(proposal_id, portal="portal-b"), portal("portal-b"))
    row = await bus.handle(withdrawal(proposal_id), portal())
    assert (row.status, row.withdrawal_reason) == ("withdrawn", "merged elsewhere")
    with pytest.raises(domain.ProposalIsWithdrawn):
        await bus.handle(withdrawal(proposal_id), portal())
    with pytest.raises(domain.ProposalIsWithdrawn):
        await bus.handle(amendment(proposal_id, {"title": "Revived"}), portal())

    events = [(event.event_type, event.stream_version) for event in await logged(database)]
    assert events[-2:] == [("ProposalSubmitted", 1), ("ProposalWithdrawn", 2)]


async def test_a_suspended_portal_is_refused_until_it_is_resumed(
    bus: MessageBus[DataSubjects], database: Database
) -> None:
    consultation_id = await opened(bus)
    earlier = await submitted(bus, consultation_id)

    row = await bus.handle(commands.SuspendPortal(portal="portal-a", reason="fabricated submissions"), ADMIN)
    assert (row.suspended, row.reason) == (True, "fabricated submissions")
    with pytest.raises(domain.PortalAlreadySuspended):
        await bus.handle(commands.SuspendPortal(portal="portal-a", reason="again"), ADMIN)
    with pytest.raises(domain.PortalIsSuspended):
        await bus.handle(submission(bus, consultation_id, key="key-2"), portal())
    with pytest.raises(domain.PortalIsSuspended):
        await bus.handle(amendment(earlier, {"title": "Cover the tracks"}), portal())
    with pytest.raises(domain.PortalIsSuspended):
        await bus.handle(withdrawal(earlier), portal())
    others = await bus.handle(submission(bus, consultation_id, portal="portal-b"), portal("portal-b"))
    assert others.registration_number.endswith("000002"), "the other portals go on"

    row = await bus.handle(commands.ResumePortal(portal="portal-a", reason=""), ADMIN)
    assert (row.suspended, row.event_id is not None) == (False, True)
    with pytest.raises(domain.PortalNotSuspended):
        await bus.handle(commands.ResumePortal(portal="portal-a", reason="again"), ADMIN)
    await bus.handle(submission(bus, consultation_id, key="key-2"), portal())

    portal_events = [
        (event.event_type, event.payload["reason"], event.actor.role)
        for event in await logged(database)
        if event.stream_id == "portal:portal-a"
    ]
    assert portal_events == [
        ("PortalSuspended", "fabricated submissions", "admin"),
        ("PortalResumed", "", "admin"),
    ]


async def key_rows(database: Database) -> int:
    async with database.read_session() as session:
        return int((await session.execute(select(func.count()).select_from(DataSubjectKeyRow))).scalar_one())


def citizen_submission(bus: MessageBus[DataSubjects], consultation_id: str) -> commands.SubmitProposal:
    return submission(bus, consultation_id, submitter=CITIZEN.model_dump(mode="json"))


async def test_an_erasure_destroys_the_key_once_and_the_same_request_answers_the_same(
    bus: MessageBus[DataSubjects], database: Database
) -> None:
    proposal_id = (await bus.handle(citizen_submission(bus, await opened(bus)), portal())).proposal_id
    subject = bus.dependencies.subject_digest("  PETR@example.org ")
    erase = commands.ErasePersonalData(
        subject_digest=subject, reason="the subject asked", legal_basis="152-FZ"
    )
    keys_before = await key_rows(database)

    first = await bus.handle(erase, ADMIN)
    again = await bus.handle(erase, ADMIN)

    assert (first.proposals, first.destroyed) == ([proposal_id], True)
    assert (again.erasure_id, again.event_id, again.proposals, again.destroyed) == (
        first.erasure_id,
        first.event_id,
        first.proposals,
        False,
    )
    assert await key_rows(database) == keys_before - 1
    erased = [event for event in await logged(database) if event.event_type == "PersonalDataErased"]
    assert [(event.event_id, event.payload["proposals"]) for event in erased] == [
        (first.event_id, [proposal_id])
    ]
    with pytest.raises(domain.DataSubjectNotFound):
        await bus.handle(
            erase.model_copy(update={"subject_digest": bus.dependencies.subject_digest("no@x.org")}), ADMIN
        )

    async with database.read_session() as session:
        row = await session.get(ProposalRow, proposal_id)
    assert row is not None
    assert ProposalContent.model_validate(row.content).submitter.contact_email == SealedValue.gone()
    late_complaint = await bus.handle(
        commands.DisputeAttribution(proposal_id=proposal_id, complainant="Пётр Сидоров", statement="not me"),
        ADMIN,
    )
    assert (late_complaint.complainant, late_complaint.statement) == ({"erased": True}, {"erased": True}), (
        "a complaint about an erased subject's proposal is not kept readable"
    )


async def test_an_upheld_dispute_sets_the_proposal_aside_and_a_dispute_is_resolved_once(
    bus: MessageBus[DataSubjects], database: Database
) -> None:
    consultation_id = await opened(bus)
    proposal_id = (await bus.handle(citizen_submission(bus, consultation_id), portal())).proposal_id

    dispute = await bus.handle(
        commands.DisputeAttribution(proposal_id=proposal_id, complainant="Пётр Сидоров", statement="not me"),
        ADMIN,
    )
    assert dispute.status == "open" and dispute.complainant["erased"] is False
    with pytest.raises(domain.ProposalNotFound):
        await bus.handle(
            commands.DisputeAttribution(proposal_id=UNKNOWN_ID, complainant="a", statement="b"), ADMIN
        )
    resolved = await bus.handle(
        commands.ResolveDispute(
            dispute_id=dispute.dispute_id, outcome=DisputeOutcome.upheld, rationale="no consent"
        ),
        ADMIN,
    )
    assert (resolved.status, resolved.outcome) == ("resolved", DisputeOutcome.upheld)
    with pytest.raises(domain.DisputeAlreadyResolved):
        await bus.handle(
            commands.ResolveDispute(
                dispute_id=dispute.dispute_id, outcome=DisputeOutcome.rejected, rationale="r"
            ),
            ADMIN,
        )
    with pytest.raises(domain.DisputeNotFound):
        await bus.handle(
            commands.ResolveDispute(dispute_id=UNKNOWN_ID, outcome=DisputeOutcome.upheld, rationale="r"),
            ADMIN,
        )
    with pytest.raises(domain.ProposalIsMisattributed):
        await bus.handle(amendment(proposal_id, {"title": "Another title"}), portal())
    with pytest.raises(domain.ProposalIsMisattributed):
        await bus.handle(withdrawal(proposal_id), portal())

    async with database.read_session() as session:
        row = await session.get(ProposalRow, proposal_id)
    assert row is not None and row.status == "misattributed"
    stays = [event.event_type for event in await logged(database) if event.stream_id == proposal_id]
    assert stays == ["ProposalSubmitted", "AttributionDisputed", "AttributionDisputeResolved"]
    [disputed] = [event for event in await logged(database) if event.event_type == "AttributionDisputed"]
    assert "Сидоров" not in disputed.model_dump_json(), "the complaint is recorded sealed"


async def test_an_amended_submitter_is_sealed_too_and_repeating_it_changes_nothing(
    bus: MessageBus[DataSubjects], database: Database
) -> None:
    proposal_id = (await bus.handle(citizen_submission(bus, await opened(bus)), portal())).proposal_id
    moved = CITIZEN.model_copy(update={"contact_email": "petr.new@example.org"})
    changes = {"submitter": moved.model_dump(mode="json")}

    row = await bus.handle(amendment(proposal_id, changes, submitter=moved), portal())

    assert row.content["submitter"]["contact_email"]["erased"] is False
    event = (await logged(database))[-1]
    assert (event.event_type, event.schema_version, list(event.payload["changes"])) == (
        "ProposalAmended",
        2,
        ["submitter"],
    )
    assert "petr.new@example.org" not in event.model_dump_json()
    assert "Сидоров" not in event.model_dump_json()
    with pytest.raises(domain.AmendmentChangesNothing):
        await bus.handle(amendment(proposal_id, changes, submitter=moved, reason="again"), portal())


def test_every_command_has_one_handler_with_the_rules_its_route_documents() -> None:
    assert {command.__name__ for command in HANDLERS} == {
        name
        for name, value in vars(commands).items()
        if isinstance(value, type) and value.__module__ == commands.__name__
    }
    assert HANDLERS.refusals(commands.ResolveDispute) == (
        domain.DisputeNotFound,
        domain.DisputeAlreadyResolved,
    )
