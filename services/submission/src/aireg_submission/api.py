"""HTTP routes of the submission service: thin; auth → command → domain → log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from aireg_events.catalogue.common import BoundedText, LateSubmissions, UtcDateTime
from aireg_events.envelope import new_event_id
from aireg_events.log.appender import UnitOfWork
from aireg_events.log.runtime import LogRuntime
from aireg_http.auth import Principal, require_roles
from aireg_http.errors import NotFound
from aireg_http.pagination import Page, PageParams
from aireg_submission import domain, store
from aireg_submission.projections import project
from aireg_submission.store import ConsultationRow

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, invalid, expired or revoked token"},
    403: {"description": "the token's role may not do this"},
    422: {"description": "invalid input, with field errors"},
}

Admin = Annotated[Principal, require_roles("admin")]
Anyone = Annotated[Principal, require_roles("portal", "reviewer", "lead", "admin", "auditor", "dashboard")]


class ConsultationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: BoundedText(64, min_length=1)  # type: ignore[valid-type]
    title: BoundedText(300, min_length=1)  # type: ignore[valid-type]
    description: BoundedText(20_000) = ""  # type: ignore[valid-type]
    submission_opens_at: UtcDateTime
    submission_closes_at: UtcDateTime
    analysis_due_at: UtcDateTime
    forwarding_due_at: UtcDateTime
    late_submissions: LateSubmissions = LateSubmissions.reject


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
    opened_at: datetime
    event_id: str = Field(description="the ConsultationOpened event")

    @classmethod
    def of(cls, row: ConsultationRow) -> ConsultationPublic:
        return cls.model_validate(row, from_attributes=True)


def consultations_router(runtime: LogRuntime) -> APIRouter:
    router = APIRouter(prefix="/v1/consultations", tags=["consultations"], responses=ERRORS)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=ConsultationPublic,
        summary="Open a consultation (a call for proposals) with its deadlines",
        responses={409: {"description": "consultation_code_taken"}},
    )
    async def open_consultation(
        body: ConsultationCreate, principal: Admin, request: Request
    ) -> ConsultationPublic:
        async def work(uow: UnitOfWork) -> ConsultationPublic:
            event = domain.open_consultation(
                consultation_id=new_event_id(),
                code_taken=await store.consultation_by_code(uow.session, body.code) is not None,
                **body.model_dump(),
            )
            envelope = await uow.append(
                event, actor=principal.actor(), correlation_id=request.state.correlation_id
            )
            await project(uow.session, envelope, event)
            await uow.session.flush()
            row = await uow.session.get(ConsultationRow, event.consultation_id)
            assert row is not None
            return ConsultationPublic.of(row)

        return await runtime.appender.run(work)

    @router.get("", response_model=Page[ConsultationPublic], summary="List consultations")
    async def list_consultations(_principal: Anyone, page: PageParams) -> Page[ConsultationPublic]:
        query = select(ConsultationRow).order_by(col(ConsultationRow.consultation_id)).limit(page.limit + 1)
        if page.cursor:
            query = query.where(col(ConsultationRow.consultation_id) > str(page.cursor[0]))
        async with store.read_session(runtime) as session:
            rows = (await session.exec(query)).all()
        return page.page([ConsultationPublic.of(row) for row in rows], lambda item: [item.consultation_id])

    @router.get("/{consultation_id}", response_model=ConsultationPublic, summary="Read one consultation")
    async def get_consultation(
        consultation_id: Annotated[str, Path(max_length=36)], _principal: Anyone
    ) -> ConsultationPublic:
        async with store.read_session(runtime) as session:
            row = await session.get(ConsultationRow, consultation_id)
        if row is None:
            raise NotFound(f"no consultation {consultation_id}", code="consultation_not_found")
        return ConsultationPublic.of(row)

    return router
