"""HTTP routes of the reporting service: thin; auth → read models (or events) → answer.

Who may read: every internal role (``dashboard``, ``lead``, ``reviewer``, ``admin``, ``auditor``) reads
statistics, timelines, deadlines, packages and their documents; a ``portal`` gets 403, because what
reporting shows is about every organization's proposals, not only the portal's own.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import anyio
from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.canonical import format_timestamp
from aireg_events.catalogue.analysis import MeasureStance, MeasureTerms, ProposalAssessed, Risk, Tally
from aireg_events.catalogue.common import UtcDateTime
from aireg_events.envelope import Actor
from aireg_events.log.runtime import LogRuntime
from aireg_http.auth import Principal, require_roles
from aireg_http.errors import NotFound, Unprocessable
from aireg_http.messages import (
    DEFAULT_LANGUAGE,
    Catalogue,
    Language,
    catalogue,
    language_of,
    preferred_language,
)
from aireg_http.pagination import Page, PageParams
from aireg_reporting import descriptions, domain, views
from aireg_reporting.document.content import PackageDocument, PackageNotFound, build_document, document_json
from aireg_reporting.document.html import DOCUMENT_CSP, render_html
from aireg_reporting.document.markdown import render_markdown
from aireg_reporting.document.pdf import render_pdf
from aireg_reporting.document.table import render_csv
from aireg_reporting.domain import Received
from aireg_reporting.measures import LinkedEvidence, fold_measures
from aireg_reporting.statistics import (
    AnalysisCompliance,
    Counts,
    ForwardingCompliance,
    Statistics,
    figures,
)
from aireg_reporting.tables import (
    PlacementRow,
    ReportedConsultationRow,
    ReportedProposalRow,
)

READ_ROLES = ("dashboard", "lead", "reviewer", "admin", "auditor")
Reader = Annotated[Principal, require_roles(*READ_ROLES)]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, invalid, expired or revoked token"},
    403: {"description": "a portal's token (reporting is for internal roles)"},
    422: {"description": "invalid query parameters"},
}

ConsultationId = Annotated[str | None, Query(max_length=36, description="one consultation; all when absent")]
LanguageQuery = Annotated[
    Language | None,
    Query(description="the language people read (ru|en); default: Accept-Language, then the consultation's"),
]
AcceptLanguage = Annotated[str | None, Header(include_in_schema=False)]


def reading_language(
    lang: Language | None, accept_language: str | None, consultation: str | None
) -> Language:
    """``lang`` if given, else the first of ours in ``Accept-Language``, else the consultation's, else English."""
    return lang or preferred_language(accept_language) or language_of(consultation) or DEFAULT_LANGUAGE


class TimelineEntry(BaseModel):
    event_id: str
    event_type: str
    producer: str
    log_position: int
    stream_id: str
    stream_version: int
    occurred_at: UtcDateTime
    actor: Actor
    correlation_id: str
    causation_id: str | None
    summary: str = Field(description="one sentence for a person, in the answer's language")
    payload: dict[str, Any] = Field(description="the payload without long texts and contact data")

    @classmethod
    def of(cls, item: Received, words: Catalogue) -> TimelineEntry:
        envelope = item.envelope
        return cls(
            event_id=envelope.event_id,
            event_type=envelope.event_type,
            producer=envelope.producer,
            log_position=envelope.log_position,
            stream_id=envelope.stream_id,
            stream_version=envelope.stream_version,
            occurred_at=envelope.occurred_at,
            actor=envelope.actor,
            correlation_id=envelope.correlation_id,
            causation_id=envelope.causation_id,
            summary=descriptions.describe(item, words),
            payload=descriptions.payload_summary(item),
        )


class TracedReview(BaseModel):
    review_id: str
    reviewer: str
    organization: str
    recommendation: str
    submitted_at: UtcDateTime
    event_id: str


class TracedAssessment(BaseModel):
    outcome: str
    rationale: str
    assessed_at: UtcDateTime
    risks_of_adoption: list[Risk]
    risks_of_rejection: list[Risk]
    event_id: str


class TracedProposal(BaseModel):
    proposal_id: str
    registration_number: str | None
    title: str | None
    submitter_kind: str | None
    status: str | None
    stance: MeasureStance
    note: str
    campaign_id: str | None
    linked_at: UtcDateTime
    reviews: list[TracedReview]
    assessment: TracedAssessment | None


class TracedMeasure(BaseModel):
    measure_id: str
    consultation_id: str | None
    terms: MeasureTerms | None
    revision: int
    status: str
    decision_rationale: str | None
    package_id: str | None
    forwarded_at: UtcDateTime | None
    tallies: dict[MeasureStance, Tally] | None = Field(
        description="as forwarded with the package; null before"
    )


class MeasureTrace(BaseModel):
    measure: TracedMeasure
    proposals: list[TracedProposal] = Field(description="each linked proposal, in the order linked")
    events: list[TimelineEntry] = Field(
        description="the measure's events and those of every linked proposal, in causal order"
    )


DeadlineName = Literal["submission_closes_at", "analysis_due_at", "forwarding_due_at"]


class Deadline(BaseModel):
    name: DeadlineName
    due_at: UtcDateTime
    due_at_local: str = Field(
        description="the same instant in the consultation's time zone, ISO 8601 with its offset"
    )
    due_text: str = Field(
        description="the instant as a person reads it, in the answer's language, the zone named: "
        '"20 January 2027, 23:59 (MSK)"'
    )
    label: str = Field(description="the deadline's name in the answer's language")
    seconds_left: int = Field(description="negative once passed")
    passed: bool


class ConsultationDeadlines(BaseModel):
    consultation_id: str
    code: str
    title: str
    time_zone: str = Field(description="IANA name: the zone the consultation's deadlines are shown in")
    language: str = Field(description="the consultation's language (ru|en)")
    deadlines: list[Deadline]
    next_deadline: str | None = Field(description="the name of the next deadline to come, if any")
    proposals: int
    analysis: AnalysisCompliance = Field(description="assessment work: on time, late, pending, overdue")
    forwarding: ForwardingCompliance


class PackageSummary(BaseModel):
    package_id: str
    consultation_id: str
    title: str
    status: str
    opened_at: UtcDateTime
    submitted_at: UtcDateTime | None
    late: bool
    proposal_count: int
    document: str = Field(description="the document's path (add ?format=json|md|html|pdf|csv)")


def reporting_router(runtime: LogRuntime) -> APIRouter:
    router = APIRouter(tags=["reporting"], responses=ERRORS)

    @router.get(
        "/v1/stats",
        response_model=Statistics,
        summary="Statistics of a consultation (or of all): counts, positions, campaigns, deadline compliance",
        responses={404: {"description": "consultation_not_found"}},
    )
    async def statistics(_principal: Reader, consultation_id: ConsultationId = None) -> Statistics:
        async with runtime.database.read_session() as session:
            deadlines, counts, campaigns = await views.statistics_of_consultations(
                session, [consultation_id] if consultation_id is not None else None
            )
        if consultation_id is not None and consultation_id not in deadlines and not counts:
            raise NotFound(f"no consultation {consultation_id}", code="consultation_not_found")
        return figures(counts, deadlines, campaigns, now=runtime.clock(), consultation_id=consultation_id)

    @router.get(
        "/v1/measures/{measure_id}/trace",
        response_model=MeasureTrace,
        summary="A measure and each proposal behind it: submitter kind, reviews, assessment; in causal order",
        responses={404: {"description": "measure_not_found"}},
    )
    async def measure_trace(
        measure_id: Annotated[str, Path(max_length=36)],
        _principal: Reader,
        lang: LanguageQuery = None,
        accept_language: AcceptLanguage = None,
    ) -> MeasureTrace:
        async with runtime.database.read_session() as session:
            rows = await views.events_of(session, "measure", measure_id)
            measure = fold_measures(Received.parse(row.body) for row in rows).get(measure_id)
            if measure is None:
                raise NotFound(f"no measure {measure_id} has been drafted", code="measure_not_found")
            items = {row.event_id: Received.parse(row.body) for row in rows}
            proposals: list[TracedProposal] = []
            for link in measure.evidence:
                mine = [
                    Received.parse(row.body)
                    for row in await views.events_of(session, "proposal", link.proposal_id)
                ]
                items.update((item.event_id, item) for item in mine)
                proposals.append(await _traced(session, link, mine))
        ordered = domain.causal_order(items.values())
        words = catalogue(reading_language(lang, accept_language, None))
        return MeasureTrace(
            measure=TracedMeasure(
                measure_id=measure.measure_id,
                consultation_id=measure.consultation_id,
                terms=measure.terms,
                revision=measure.revision,
                status=measure.status,
                decision_rationale=measure.decision_rationale,
                package_id=measure.package_id,
                forwarded_at=measure.forwarded_at,
                tallies=measure.tallies,
            ),
            proposals=proposals,
            events=[TimelineEntry.of(item, words) for item in ordered],
        )

    @router.get(
        "/v1/proposals/{proposal_id}/timeline",
        response_model=Page[TimelineEntry],
        summary="Every event about a proposal, from every producer, in causal order",
        responses={404: {"description": "proposal_not_found"}},
    )
    async def timeline(
        proposal_id: Annotated[str, Path(max_length=36)],
        _principal: Reader,
        page: PageParams,
        lang: LanguageQuery = None,
        accept_language: AcceptLanguage = None,
    ) -> Page[TimelineEntry]:
        async with runtime.database.read_session() as session:
            rows = await views.events_of(session, "proposal", proposal_id)
        if not rows:
            raise NotFound(
                f"no event about proposal {proposal_id} has been received", code="proposal_not_found"
            )
        ordered = domain.causal_order(Received.parse(row.body) for row in rows)
        start = 0
        if page.cursor:
            ids = [item.event_id for item in ordered]
            if page.cursor[0] not in ids:
                raise Unprocessable("cursor is not one this service issued", code="invalid_cursor")
            start = ids.index(page.cursor[0]) + 1
        chunk = ordered[start : start + page.limit + 1]
        words = catalogue(reading_language(lang, accept_language, None))
        return page.page([TimelineEntry.of(item, words) for item in chunk], lambda entry: [entry.event_id])

    @router.get(
        "/v1/deadlines",
        response_model=Page[ConsultationDeadlines],
        summary="Each consultation's deadlines, time left, and the work pending or overdue",
    )
    async def deadlines(
        _principal: Reader,
        page: PageParams,
        lang: LanguageQuery = None,
        accept_language: AcceptLanguage = None,
    ) -> Page[ConsultationDeadlines]:
        after = str(page.cursor[0]) if page.cursor else None
        async with runtime.database.read_session() as session:
            consultations = await views.consultations_after(session, after, limit=page.limit + 1)
            _, counts, _ = await views.statistics_of_consultations(
                session, [row.consultation_id for row in consultations[: page.limit]]
            )
        now = runtime.clock()
        items = [
            _deadlines_of(
                consultation,
                counts.get(consultation.consultation_id, Counter()),
                now,
                reading_language(lang, accept_language, consultation.language),
            )
            for consultation in consultations
        ]
        return page.page(items, lambda item: [item.consultation_id])

    @router.get(
        "/v1/packages",
        response_model=Page[PackageSummary],
        summary="The government packages, open and submitted",
    )
    async def packages(
        _principal: Reader, page: PageParams, consultation_id: ConsultationId = None
    ) -> Page[PackageSummary]:
        after = str(page.cursor[0]) if page.cursor else None
        async with runtime.database.read_session() as session:
            rows = await views.packages_after(
                session, after, limit=page.limit + 1, consultation_id=consultation_id
            )
        return page.page(
            [
                PackageSummary(
                    package_id=row.package_id,
                    consultation_id=row.consultation_id,
                    title=row.title,
                    status=row.status,
                    opened_at=row.opened_at,
                    submitted_at=row.submitted_at,
                    late=row.late,
                    proposal_count=row.proposal_count,
                    document=f"/v1/packages/{row.package_id}/document",
                )
                for row in rows
            ],
            lambda item: [item.package_id],
        )

    @router.get(
        "/v1/packages/{package_id}/document",
        summary="The package document for the government, with its manifest; as it stood at as_of",
        response_class=Response,
        responses={
            200: {
                "model": PackageDocument,
                "description": "the document; the manifest is inside it and in the X-Aireg-* headers",
                "content": {
                    "text/markdown": {},
                    "text/html": {},
                    "text/csv": {},
                    "application/pdf": {},
                },
            },
            404: {"description": "package_not_found (or not opened yet at as_of)"},
        },
    )
    async def package_document(
        package_id: Annotated[str, Path(max_length=36)],
        _principal: Reader,
        format: Annotated[Literal["json", "md", "html", "pdf", "csv"], Query()] = "json",
        as_of: Annotated[
            AwareDatetime | None, Query(description="rebuild it from the events that occurred up to then")
        ] = None,
        lang: LanguageQuery = None,
        accept_language: AcceptLanguage = None,
    ) -> Response:
        async with runtime.database.read_session() as session:
            package_rows = await views.events_of(session, "package", package_id, as_of=as_of)
            consultation_id = next((row.consultation_id for row in package_rows if row.consultation_id), None)
            rows = list(package_rows)
            if consultation_id is not None:
                rows += await views.events_of_consultation(session, consultation_id, as_of=as_of)
        if not package_rows:
            raise NotFound(_absent(package_id, as_of), code="package_not_found")
        bodies = list({row.event_id: row.body for row in rows}.values())
        try:
            document = await anyio.to_thread.run_sync(_build, package_id, bodies, as_of)
        except PackageNotFound:
            raise NotFound(_absent(package_id, as_of), code="package_not_found") from None
        consultation = document.document.consultation
        language = reading_language(lang, accept_language, consultation.language if consultation else None)
        return await anyio.to_thread.run_sync(_render, document, format, language)

    return router


def _deadlines_of(
    consultation: ReportedConsultationRow, counts: Counts, now: datetime, language: Language
) -> ConsultationDeadlines:
    stats = figures(
        {consultation.consultation_id: counts},
        {consultation.consultation_id: consultation},
        [],
        now=now,
        consultation_id=consultation.consultation_id,
    )
    dues: list[tuple[DeadlineName, datetime]] = [
        ("submission_closes_at", consultation.submission_closes_at),
        ("analysis_due_at", consultation.analysis_due_at),
        ("forwarding_due_at", consultation.forwarding_due_at),
    ]
    words, zone = catalogue(language), ZoneInfo(consultation.time_zone)
    return ConsultationDeadlines(
        consultation_id=consultation.consultation_id,
        code=consultation.code,
        title=consultation.title,
        time_zone=consultation.time_zone,
        language=consultation.language,
        deadlines=[
            Deadline(
                name=name,
                due_at=due,
                due_at_local=due.astimezone(zone).isoformat(),
                due_text=words.moment(due, consultation.time_zone),
                label=words.label(name),
                seconds_left=int((due - now).total_seconds()),
                passed=due <= now,
            )
            for name, due in dues
        ],
        next_deadline=next((name for name, due in dues if due > now), None),
        proposals=stats.proposals,
        analysis=stats.deadline_compliance.analysis,
        forwarding=stats.deadline_compliance.forwarding,
    )


async def _traced(session: AsyncSession, link: LinkedEvidence, items: list[Received]) -> TracedProposal:
    """One linked proposal as reporting holds it, with the risks its assessment recorded."""
    row = await session.get(ReportedProposalRow, link.proposal_id)
    reviews = await views.reviews_of(session, link.proposal_id)
    assessed = [item for item in domain.causal_order(items) if isinstance(item.event, ProposalAssessed)]
    assessment = None
    if assessed:
        event = assessed[-1].event
        assert isinstance(event, ProposalAssessed)
        assessment = TracedAssessment(
            outcome=event.outcome.value,
            rationale=event.rationale,
            assessed_at=assessed[-1].occurred_at,
            risks_of_adoption=list(event.risks_of_adoption),
            risks_of_rejection=list(event.risks_of_rejection),
            event_id=assessed[-1].event_id,
        )
    placement = await session.get(PlacementRow, link.proposal_id)
    return TracedProposal(
        proposal_id=link.proposal_id,
        registration_number=row.registration_number if row else None,
        title=row.title if row else None,
        submitter_kind=row.submitter_kind if row else None,
        status=row.status if row else None,
        stance=link.stance,
        note=link.note,
        campaign_id=placement.campaign_id if placement else None,
        linked_at=link.linked_at,
        reviews=[
            TracedReview(
                review_id=review.review_id,
                reviewer=review.reviewer,
                organization=review.organization,
                recommendation=review.recommendation,
                submitted_at=review.submitted_at,
                event_id=review.event_id,
            )
            for review in reviews
        ],
        assessment=assessment,
    )


def _absent(package_id: str, as_of: datetime | None) -> str:
    if as_of is None:
        return f"no package {package_id}"
    return f"no package {package_id} had been opened by {format_timestamp(as_of)}"


def _build(package_id: str, bodies: list[str], as_of: datetime | None) -> PackageDocument:
    return build_document(package_id, [Received.parse(body) for body in bodies], as_of)


def _render(document: PackageDocument, format: str, language: Language) -> Response:
    manifest = document.manifest
    headers = {
        "x-aireg-document-sha256": manifest.content_sha256,
        "x-aireg-as-of": format_timestamp(manifest.as_of),
        "x-aireg-event-count": str(manifest.event_count),
        "content-language": language,
        "vary": "Accept-Language",
    }
    stem = f"package-{document.document.package.package_id}-{manifest.content_sha256[:12]}"
    if format == "json":
        return Response(document_json(document), media_type="application/json", headers=headers)
    if format == "md":
        return Response(
            render_markdown(document, language), media_type="text/markdown; charset=utf-8", headers=headers
        )
    if format == "html":
        headers["content-security-policy"] = DOCUMENT_CSP
        return Response(
            render_html(document, language), media_type="text/html; charset=utf-8", headers=headers
        )
    if format == "csv":
        headers["content-disposition"] = f'attachment; filename="{stem}.csv"'
        return Response(render_csv(document, language), media_type="text/csv; charset=utf-8", headers=headers)
    headers["content-disposition"] = f'attachment; filename="{stem}.pdf"'
    return Response(render_pdf(document, language), media_type="application/pdf", headers=headers)
