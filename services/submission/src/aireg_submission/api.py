"""HTTP routes of the submission service: parse (auth, path, body) → a command → the bus → a view."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails
from sqlmodel import col, select

from aireg_events.bus import Caller, Command, MessageBus
from aireg_events.catalogue.common import (
    ApplicationArea,
    Approach,
    BoundedText,
    CostOfError,
    Direction,
    Instrument,
    LateSubmissions,
    Position,
    Question,
    SubmitterKind,
    UtcDateTime,
)
from aireg_events.catalogue.submission import (
    Attachment,
    ConsultationLanguage,
    DisputeOutcome,
    ProposalBody,
    ProposalContent,
    ProposalFields,
    SealedSubmitter,
    Submitter,
)
from aireg_events.log.runtime import LogRuntime
from aireg_events.receipts import Receipt, ReceiptClaims, issue_receipt
from aireg_events.rules import RuleViolation
from aireg_events.sealed import SealedValue
from aireg_http.auth import ROLES, Principal, TokenRole, require_roles
from aireg_http.errors import COMMON_ERRORS, ErrorBody, refusals
from aireg_http.pagination import Page, PageParams
from aireg_submission import domain, store
from aireg_submission.commands import (
    AmendProposal,
    DisputeAttribution,
    ErasePersonalData,
    OpenConsultation,
    ResolveDispute,
    ResumePortal,
    SubmitProposal,
    SuspendPortal,
    WithdrawProposal,
)
from aireg_submission.domain import ProposalStatus
from aireg_submission.handlers import HANDLERS
from aireg_submission.personal_data import DataSubjects, opened, scrub_after_erasure, submitter_key_ids
from aireg_submission.store import AttributionDisputeRow, ConsultationRow, PortalRow, ProposalRow

ID_PATTERN = r"^[0-9A-Za-z-]{1,36}$"
PORTAL_PATTERN = r"^[^\x00-\x1f\x7f]{1,200}$"

# --- errors, as the OpenAPI document shows them ---------------------------------------------------
# Every route answers COMMON_ERRORS (auth, role, validation: the router's own); a route adds the rules it
# may refuse with, a command route its handler's (``HANDLERS.refusals``), through ``refusals``. What is
# no rule (a body over the limit, a cursor this service did not issue) is written here once.

BODY_TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {
        "model": ErrorBody,
        "description": "payload_too_large: the body is over the limit (1 MiB unless configured)",
    }
}
BAD_CURSOR: dict[int | str, dict[str, Any]] = {
    422: {
        "model": ErrorBody,
        "description": f"invalid_cursor: the cursor is not one this service issued; or {COMMON_ERRORS[422]['description']}",
    }
}


def command_errors(
    command_type: type[Command], *route_rules: type[RuleViolation]
) -> dict[int | str, dict[str, Any]]:
    """The errors of a command route beside COMMON_ERRORS: the rules its handler may refuse with (and any
    the route itself checks), and a body over the limit."""
    return {**BODY_TOO_LARGE, **refusals(*HANDLERS.refusals(command_type), *route_rules)}


def listing_errors(*rules: type[RuleViolation]) -> dict[int | str, dict[str, Any]]:
    """The errors of a paged list beside COMMON_ERRORS: ``rules`` and a cursor this service did not issue."""
    return {**refusals(*rules), **BAD_CURSOR}


def caller_of(principal: Principal, request: Request) -> Caller:
    return Caller(principal.actor(), correlation_id=request.state.correlation_id)


# --- who may call ---------------------------------------------------------------------------------


def caller(*roles: TokenRole) -> Any:
    """Lets through ``roles`` only; a suspended portal's token is refused on every route (403)."""
    role_check = require_roles(*roles)

    async def check(request: Request, principal: Principal = role_check) -> Principal:
        if principal.role == "portal":
            suspensions: store.SuspensionCache = request.app.state.suspensions
            suspended = await suspensions.is_suspended(request.app.state.runtime, principal.name)
            domain.ensure_portal_active(principal.name, suspended=suspended)
        return principal

    return Depends(check)


Admin = Annotated[Principal, require_roles("admin")]
Anyone = Annotated[Principal, caller(*ROLES)]
Reader = Annotated[Principal, caller("portal", "reviewer", "lead", "admin", "auditor")]
PortalCaller = Annotated[Principal, caller("portal")]
STAFF_READERS = "reviewer, lead, admin, auditor"

ConsultationId = Annotated[str, Path(pattern=ID_PATTERN, description="the consultation's id")]
ProposalId = Annotated[str, Path(pattern=ID_PATTERN, description="the proposal's id")]
PortalName = Annotated[str, Path(pattern=PORTAL_PATTERN, description="the portal's name (its token's name)")]

# --- consultations --------------------------------------------------------------------------------


DeadlineInput = Annotated[
    UtcDateTime | date,
    Field(
        description="an instant with its offset (`2027-01-20T20:59:59Z`), or a date (`2027-01-20`): the end "
        "of that day, 23:59:59, in the consultation's `time_zone` (for `submission_opens_at`: its start)"
    ),
]


class ConsultationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: BoundedText(64, min_length=1)  # type: ignore[valid-type]
    title: BoundedText(300, min_length=1)  # type: ignore[valid-type]
    description: BoundedText(20_000) = ""  # type: ignore[valid-type]
    submission_opens_at: DeadlineInput
    submission_closes_at: DeadlineInput
    analysis_due_at: DeadlineInput
    forwarding_due_at: DeadlineInput
    late_submissions: LateSubmissions = LateSubmissions.reject
    time_zone: BoundedText(64, min_length=1) = Field(  # type: ignore[valid-type]
        default="UTC", description="IANA name (`Europe/Moscow`): the zone people read the deadlines in"
    )
    language: ConsultationLanguage = Field(
        default=ConsultationLanguage.en,
        description="the call's language: documents and dashboard default to it",
    )

    @field_validator("time_zone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        if not domain.is_time_zone(value):
            raise ValueError("not an IANA time zone name (such as Europe/Moscow)")
        return value

    @model_validator(mode="after")
    def _instants(self) -> ConsultationCreate:
        """Deadlines given as dates become the instants they mean in ``time_zone``; a date whose end (or
        start) in that zone falls outside the years 1..9999 is the field's 422, not a 500."""
        problems: list[InitErrorDetails] = []
        for name in ("submission_opens_at", "submission_closes_at", "analysis_due_at", "forwarding_due_at"):
            value = getattr(self, name)
            try:
                instant = domain.instant_of(value, self.time_zone, end_of_day=name != "submission_opens_at")
            except OverflowError:
                error = ValueError("the day in this time zone is outside the years 1 to 9999")
                problems.append(
                    {"type": "value_error", "loc": (name,), "input": str(value), "ctx": {"error": error}}
                )
                continue
            setattr(self, name, instant)
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


class ConsultationPublic(BaseModel):
    consultation_id: str
    code: str
    title: str
    description: str
    submission_opens_at: datetime
    submission_closes_at: datetime
    analysis_due_at: datetime
    forwarding_due_at: datetime
    late_submissions: LateSubmissions
    time_zone: str = Field(description="IANA name: the zone people read the deadlines in")
    language: ConsultationLanguage
    opened_at: datetime
    event_id: str = Field(description="the ConsultationOpened event")

    @classmethod
    def of(cls, row: ConsultationRow) -> ConsultationPublic:
        return cls.model_validate(row, from_attributes=True)


def consultations_router(runtime: LogRuntime, bus: MessageBus) -> APIRouter:
    router = APIRouter(prefix="/v1/consultations", tags=["consultations"], responses=COMMON_ERRORS)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=ConsultationPublic,
        summary="Open a consultation (a call for proposals) with its deadlines (admin)",
        description=(
            "Deadlines are instants, kept and answered in UTC. A deadline given as a date (`2027-01-20`) "
            "means the end of that day (23:59:59) in the consultation's `time_zone` (an IANA name, default "
            "`UTC`); `submission_opens_at` given as a date, the start of that day. `time_zone` and `language` "
            "(`ru|en`, default `en`) are what documents, the dashboard and the deadline view show the "
            "deadlines in. An unknown zone or another language: 422 naming the field."
        ),
        responses=command_errors(OpenConsultation),
    )
    async def open_consultation(
        body: ConsultationCreate, principal: Admin, request: Request
    ) -> ConsultationPublic:
        row = await bus.handle(OpenConsultation(**body.model_dump()), caller_of(principal, request))
        return ConsultationPublic.of(row)

    @router.get(
        "",
        response_model=Page[ConsultationPublic],
        summary="List consultations (any authenticated caller)",
        responses=listing_errors(domain.PortalIsSuspended),
    )
    async def list_consultations(_principal: Anyone, page: PageParams) -> Page[ConsultationPublic]:
        query = select(ConsultationRow).order_by(col(ConsultationRow.consultation_id)).limit(page.limit + 1)
        if page.cursor:
            query = query.where(col(ConsultationRow.consultation_id) > str(page.cursor[0]))
        async with runtime.database.read_session() as session:
            rows = (await session.exec(query)).all()
        return page.page([ConsultationPublic.of(row) for row in rows], lambda item: [item.consultation_id])

    @router.get(
        "/{consultation_id}",
        response_model=ConsultationPublic,
        summary="Read one consultation (any authenticated caller)",
        responses=refusals(domain.PortalIsSuspended, domain.ConsultationNotFound),
    )
    async def get_consultation(consultation_id: ConsultationId, _principal: Anyone) -> ConsultationPublic:
        async with runtime.database.read_session() as session:
            row = await session.get(ConsultationRow, consultation_id)
        if row is None:
            raise domain.ConsultationNotFound(f"no consultation {consultation_id}")
        return ConsultationPublic.of(row)

    return router


# --- proposals ------------------------------------------------------------------------------------


class SubmissionAnswer(BaseModel):
    """The 201 of an intake, and the identical answer to every retry with the same key and body."""

    proposal_id: str
    consultation_id: str
    registration_number: str = Field(description="AIREG-<year>-<6 digits>, gap-free per consultation")
    status: Literal["submitted"] = "submitted"
    submitted_at: UtcDateTime = Field(description="when the service received it (server clock, UTC)")
    event_id: str = Field(description="the ProposalSubmitted event")
    late: bool = Field(
        description="received after the window closed, under late_submissions=accept_and_label"
    )
    receipt: Receipt = Field(
        description="signed (Ed25519) by the service: `aireg audit receipt` verifies it against the log"
    )


class ProposalChanges(BaseModel):
    """The fields of the body to replace, each with its whole new value; the result is checked as a body."""

    model_config = ConfigDict(extra="forbid")

    submitter: Submitter | None = None
    title: BoundedText(300, min_length=1) | None = None  # type: ignore[valid-type]
    summary: BoundedText(2_000, min_length=1) | None = None  # type: ignore[valid-type]
    text: BoundedText(100_000, min_length=1) | None = None  # type: ignore[valid-type]
    directions: list[Direction] | None = Field(default=None, min_length=1, max_length=7)
    questions: list[Question] | None = Field(default=None, min_length=1, max_length=6)
    positions: dict[Question, Position] | None = Field(default=None, max_length=6)
    instrument: Instrument | None = None
    approach: Approach | None = None
    cost_of_error: CostOfError | None = None
    application_areas: list[ApplicationArea] | None = Field(default=None, min_length=1, max_length=10)
    attachments: list[Attachment] | None = Field(default=None, max_length=50)


class AmendmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    changes: ProposalChanges
    reason: BoundedText(2_000, min_length=1)  # type: ignore[valid-type]


class WithdrawalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: BoundedText(2_000, min_length=1)  # type: ignore[valid-type]


class SubmitterPublic(BaseModel):
    """The submitter as a reader sees it: personal data sealed (``{"erased": false, "sealed": ...}``) or
    erased (``{"erased": true}``); in plain text only for an admin reading one proposal while the key exists."""

    name: str | SealedValue = Field(description="an organization's name; a citizen's is personal data")
    kind: SubmitterKind
    registration_number: str | SealedValue | None = Field(description="a citizen's is personal data")
    contact_email: str | SealedValue = Field(description="personal data")

    @classmethod
    def of(cls, submitter: SealedSubmitter, keys: dict[str, bytes]) -> SubmitterPublic:
        """``submitter`` with the values sealed under ``keys`` opened (no keys: as recorded)."""
        return cls(
            name=opened(submitter.name, "name", keys),
            kind=submitter.kind,
            registration_number=opened(submitter.registration_number, "registration_number", keys),
            contact_email=opened(submitter.contact_email, "contact_email", keys),
        )


class ContentPublic(ProposalFields):
    submitter: SubmitterPublic


class ProposalPublic(BaseModel):
    """A proposal as it stands, with the status its submitter sees."""

    proposal_id: str
    consultation_id: str
    registration_number: str
    portal: str
    status: ProposalStatus = Field(
        description="submitted → under_review → assessed | rejected_as_duplicate → "
        "forwarded_to_government; or withdrawn; or misattributed (an upheld attribution dispute)"
    )
    late: bool
    submitted_at: UtcDateTime
    status_changed_at: UtcDateTime
    version: int = Field(description="1 as submitted, +1 per amendment")
    amended_at: UtcDateTime | None
    withdrawn_at: UtcDateTime | None
    withdrawal_reason: str | None
    content: ContentPublic
    event_id: str = Field(description="the ProposalSubmitted event")
    last_event_id: str = Field(description="the latest event of this service about the proposal")

    @classmethod
    def of(cls, row: ProposalRow, keys: dict[str, bytes] | None = None) -> ProposalPublic:
        """``keys``: the data subject keys to open personal data with (an admin's read of one proposal)."""
        content = ProposalContent.model_validate(row.content)
        return cls(
            proposal_id=row.proposal_id,
            consultation_id=row.consultation_id,
            registration_number=row.registration_number,
            portal=row.portal,
            status=ProposalStatus(row.status),
            late=row.late,
            submitted_at=row.received_at,
            status_changed_at=row.status_changed_at,
            version=row.version,
            amended_at=row.amended_at,
            withdrawn_at=row.withdrawn_at,
            withdrawal_reason=row.withdrawal_reason,
            content=ContentPublic.model_validate(
                {
                    **content.model_dump(exclude={"submitter"}),
                    "submitter": SubmitterPublic.of(content.submitter, keys or {}),
                }
            ),
            event_id=row.submitted_event_id,
            last_event_id=row.last_event_id,
        )


def _visible(row: ProposalRow | None, principal: Principal) -> bool:
    return row is not None and (principal.role != "portal" or row.portal == principal.name)


def proposals_router(
    runtime: LogRuntime, bus: MessageBus, signing_key: Ed25519PrivateKey, subjects: DataSubjects
) -> APIRouter:
    router = APIRouter(tags=["proposals"], responses=COMMON_ERRORS)

    def answer(row: store.Registration) -> SubmissionAnswer:
        """Built from the recorded facts alone (Ed25519 signatures are deterministic), so a retry gets
        the very same bytes, receipt included."""
        claims = ReceiptClaims(
            registration_number=row.registration_number,
            proposal_id=row.proposal_id,
            consultation_id=row.consultation_id,
            event_id=row.submitted_event_id,
            log_position=row.submitted_log_position,
            event_hash=row.submitted_event_hash,
            received_at=row.received_at,
        )
        return SubmissionAnswer(
            proposal_id=row.proposal_id,
            consultation_id=row.consultation_id,
            registration_number=row.registration_number,
            submitted_at=row.received_at,
            event_id=row.submitted_event_id,
            late=row.late,
            receipt=issue_receipt(signing_key, claims),
        )

    @router.post(
        "/v1/consultations/{consultation_id}/proposals",
        status_code=status.HTTP_201_CREATED,
        response_model=SubmissionAnswer,
        tags=["proposals"],
        summary="Submit a proposal (portal), idempotently",
        description="Send the same `Idempotency-Key` with the same body again (a retry) and get the same "
        "answer, receipt included; nothing new is recorded. Keys are kept per portal.",
        responses=command_errors(SubmitProposal, domain.IdempotencyKeyRequired, domain.IdempotencyKeyInvalid),
    )
    async def submit_proposal(
        consultation_id: ConsultationId,
        body: ProposalBody,
        principal: PortalCaller,
        request: Request,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                description="required: 1..200 visible ASCII characters, unique per proposal of a portal",
            ),
        ] = None,
    ) -> SubmissionAnswer:
        command = SubmitProposal(
            consultation_id=consultation_id,
            portal=principal.name,
            idempotency_key=domain.checked_idempotency_key(idempotency_key),
            request_fingerprint=domain.request_fingerprint(body, subjects.digest),
            body=body,
        )
        return answer(await bus.handle(command, caller_of(principal, request)))

    @router.get(
        "/v1/proposals",
        response_model=Page[ProposalPublic],
        summary=f"List proposals: a portal sees its own; {STAFF_READERS} see all",
        responses=listing_errors(domain.PortalIsSuspended),
    )
    async def list_proposals(
        principal: Reader,
        page: PageParams,
        consultation_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
        status: ProposalStatus | None = None,
    ) -> Page[ProposalPublic]:
        query = store.proposals_query(
            portal=principal.name if principal.role == "portal" else None,
            consultation_id=consultation_id,
            status=status.value if status else None,
            after=str(page.cursor[0]) if page.cursor else None,
            limit=page.limit + 1,
        )
        async with runtime.database.read_session() as session:
            rows = (await session.exec(query)).all()
        return page.page([ProposalPublic.of(row) for row in rows], lambda item: [item.proposal_id])

    @router.get(
        "/v1/proposals/{proposal_id}",
        response_model=ProposalPublic,
        summary=f"Read a proposal and the status its submitter sees (its portal; {STAFF_READERS})",
        description="Personal data reads sealed or erased; an `admin` reads it in plain text while its "
        "data subject's key exists.",
        responses=refusals(domain.PortalIsSuspended, domain.ProposalNotFound),
    )
    async def get_proposal(proposal_id: ProposalId, principal: Reader) -> ProposalPublic:
        async with runtime.database.read_session() as session:
            row = await session.get(ProposalRow, proposal_id)
            if row is None or not _visible(row, principal):
                raise domain.ProposalNotFound(f"no proposal {proposal_id} of this portal")
            keys: dict[str, bytes] = {}
            if principal.role == "admin":
                sealed = ProposalContent.model_validate(row.content).submitter
                keys = await subjects.keys(session, submitter_key_ids(sealed))
        return ProposalPublic.of(row, keys)

    @router.post(
        "/v1/proposals/{proposal_id}/amendments",
        response_model=ProposalPublic,
        summary="Amend a proposal (the portal that submitted it, before the window closes)",
        responses=command_errors(AmendProposal),
    )
    async def amend_proposal(
        proposal_id: ProposalId, body: AmendmentRequest, principal: PortalCaller, request: Request
    ) -> ProposalPublic:
        command = AmendProposal(
            proposal_id=proposal_id,
            portal=principal.name,
            changes=body.changes.model_dump(mode="json", exclude_unset=True),
            submitter=body.changes.submitter,
            reason=body.reason,
        )
        return ProposalPublic.of(await bus.handle(command, caller_of(principal, request)))

    @router.post(
        "/v1/proposals/{proposal_id}/withdrawal",
        response_model=ProposalPublic,
        summary="Withdraw a proposal (the portal that submitted it, before the window closes)",
        responses=command_errors(WithdrawProposal),
    )
    async def withdraw_proposal(
        proposal_id: ProposalId, body: WithdrawalRequest, principal: PortalCaller, request: Request
    ) -> ProposalPublic:
        command = WithdrawProposal(proposal_id=proposal_id, portal=principal.name, reason=body.reason)
        return ProposalPublic.of(await bus.handle(command, caller_of(principal, request)))

    return router


# --- portals --------------------------------------------------------------------------------------


class SuspensionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: BoundedText(2_000, min_length=1)  # type: ignore[valid-type]


class ResumptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: BoundedText(2_000) = ""  # type: ignore[valid-type]


class PortalPublic(BaseModel):
    portal: str
    suspended: bool
    reason: str = Field(description="why it was last suspended or resumed")
    changed_at: UtcDateTime | None = Field(description="when; null if it never was")
    event_id: str | None = Field(description="the PortalSuspended or PortalResumed event")

    @classmethod
    def of(cls, portal: str, row: PortalRow | None) -> PortalPublic:
        if row is None:
            return cls(portal=portal, suspended=False, reason="", changed_at=None, event_id=None)
        return cls(
            portal=row.portal,
            suspended=row.suspended,
            reason=row.reason,
            changed_at=row.changed_at,
            event_id=row.event_id,
        )


def portals_router(runtime: LogRuntime, bus: MessageBus, suspensions: store.SuspensionCache) -> APIRouter:
    router = APIRouter(prefix="/v1/portals", tags=["portals"], responses=COMMON_ERRORS)

    async def record(command: SuspendPortal | ResumePortal, caller: Caller) -> PortalPublic:
        try:
            return PortalPublic.of(command.portal, await bus.handle(command, caller))
        finally:
            suspensions.forget(command.portal)

    @router.post(
        "/{portal}/suspension",
        response_model=PortalPublic,
        summary="Suspend a portal (admin): its token is refused with 403 portal_suspended from then on",
        responses=command_errors(SuspendPortal),
    )
    async def suspend_portal(
        portal: PortalName, body: SuspensionRequest, principal: Admin, request: Request
    ) -> PortalPublic:
        return await record(SuspendPortal(portal=portal, reason=body.reason), caller_of(principal, request))

    @router.post(
        "/{portal}/resumption",
        response_model=PortalPublic,
        summary="Resume a suspended portal (admin)",
        responses=command_errors(ResumePortal),
    )
    async def resume_portal(
        portal: PortalName,
        principal: Admin,
        request: Request,
        body: Annotated[ResumptionRequest | None, Body()] = None,
    ) -> PortalPublic:
        command = ResumePortal(portal=portal, reason=body.reason if body is not None else "")
        return await record(command, caller_of(principal, request))

    @router.get(
        "/{portal}",
        response_model=PortalPublic,
        summary="Whether a portal is suspended (admin)",
    )
    async def get_portal(portal: PortalName, _principal: Admin) -> PortalPublic:
        async with runtime.database.read_session() as session:
            return PortalPublic.of(portal, await session.get(PortalRow, portal))

    return router


# --- the people behind proposals ------------------------------------------------------------------


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_email: EmailStr = Field(
        max_length=320, description="the data subject (normalized: trimmed, lower case)"
    )
    reason: BoundedText(2_000, min_length=1)  # type: ignore[valid-type]
    legal_basis: BoundedText(300, min_length=1) = Field(  # type: ignore[valid-type]
        description="e.g. `152-FZ art. 21`, `GDPR art. 17`"
    )


class ErasurePublic(BaseModel):
    erasure_id: str
    proposals: list[str] = Field(description="the proposals whose personal data can no longer be read")
    erased_at: UtcDateTime
    event_id: str = Field(description="the PersonalDataErased event")


class DisputeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    complainant: BoundedText(300, min_length=1) = Field(  # type: ignore[valid-type]
        description="who complains (personal data: recorded sealed)"
    )
    statement: BoundedText(20_000, min_length=1) = Field(  # type: ignore[valid-type]
        description="what they state (recorded sealed)"
    )


class DisputeResolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: DisputeOutcome = Field(description="upheld sets the proposal aside as `misattributed`")
    rationale: BoundedText(20_000, min_length=1)  # type: ignore[valid-type]


class DisputePublic(BaseModel):
    dispute_id: str
    proposal_id: str
    consultation_id: str
    status: Literal["open", "resolved"]
    complainant: SealedValue
    statement: SealedValue
    outcome: DisputeOutcome | None
    rationale: str | None
    opened_at: UtcDateTime
    resolved_at: UtcDateTime | None
    event_id: str = Field(description="the AttributionDisputed event")
    resolution_event_id: str | None = Field(description="the AttributionDisputeResolved event")

    @classmethod
    def of(cls, row: AttributionDisputeRow) -> DisputePublic:
        return cls.model_validate(row, from_attributes=True)


DisputeId = Annotated[str, Path(pattern=ID_PATTERN, description="the dispute's id")]


def personal_data_router(runtime: LogRuntime, bus: MessageBus, subjects: DataSubjects) -> APIRouter:
    router = APIRouter(tags=["personal data"], responses=COMMON_ERRORS)

    @router.post(
        "/v1/personal-data/erasures",
        response_model=ErasurePublic,
        summary="Erase a data subject's personal data (admin): its key is destroyed",
        description="Every value sealed under the subject's key (the normalized contact e-mail's) reads "
        '`{"erased": true}` from then on, in every log, topic, feed and store; the logs still verify. '
        "The same request again answers the same.",
        responses=command_errors(ErasePersonalData),
    )
    async def erase_personal_data(body: ErasureRequest, principal: Admin, request: Request) -> ErasurePublic:
        command = ErasePersonalData(
            subject_digest=subjects.subject_digest(str(body.contact_email)),
            reason=body.reason,
            legal_basis=body.legal_basis,
        )
        erasure = await bus.handle(command, caller_of(principal, request))
        if erasure.destroyed:
            await scrub_after_erasure(runtime.database)
        return ErasurePublic(
            erasure_id=erasure.erasure_id,
            proposals=erasure.proposals,
            erased_at=erasure.erased_at,
            event_id=erasure.event_id,
        )

    @router.post(
        "/v1/proposals/{proposal_id}/attribution-disputes",
        status_code=status.HTTP_201_CREATED,
        response_model=DisputePublic,
        summary="Record a complaint that a proposal was filed in someone's name without consent (admin)",
        description="The complainant and the statement are recorded sealed under the proposal's data "
        'subject (`{"erased": true}` when that subject was erased already).',
        responses=command_errors(DisputeAttribution),
    )
    async def dispute_attribution(
        proposal_id: ProposalId, body: DisputeCreate, principal: Admin, request: Request
    ) -> DisputePublic:
        command = DisputeAttribution(
            proposal_id=proposal_id, complainant=body.complainant, statement=body.statement
        )
        return DisputePublic.of(await bus.handle(command, caller_of(principal, request)))

    @router.post(
        "/v1/attribution-disputes/{dispute_id}/resolution",
        response_model=DisputePublic,
        summary="Resolve an attribution dispute (admin): upheld sets the proposal aside as misattributed",
        responses=command_errors(ResolveDispute),
    )
    async def resolve_dispute(
        dispute_id: DisputeId, body: DisputeResolution, principal: Admin, request: Request
    ) -> DisputePublic:
        command = ResolveDispute(dispute_id=dispute_id, outcome=body.outcome, rationale=body.rationale)
        return DisputePublic.of(await bus.handle(command, caller_of(principal, request)))

    @router.get(
        "/v1/attribution-disputes",
        response_model=Page[DisputePublic],
        summary="List attribution disputes, open or resolved (admin)",
        responses=listing_errors(),
    )
    async def list_disputes(
        _principal: Admin,
        page: PageParams,
        status: Annotated[Literal["open", "resolved"] | None, Query()] = None,
    ) -> Page[DisputePublic]:
        query = store.disputes_query(
            status=status, after=str(page.cursor[0]) if page.cursor else None, limit=page.limit + 1
        )
        async with runtime.database.read_session() as session:
            rows = (await session.exec(query)).all()
        return page.page([DisputePublic.of(row) for row in rows], lambda item: [item.dispute_id])

    return router
