"""What the handlers and triage load from the tables: the facts the rules need (proposals, packages,
measures and their evidence) and the triage index as recorded (band rows, candidates' signatures,
campaigns, same texts), one query of each kind for many subjects."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_analysis import domain, measures
from aireg_analysis.similarity import SimilarityMethod
from aireg_analysis.tables import (
    BANDS,
    CAMPAIGNS,
    PROPOSALS,
    SIGNATURES,
    AssignmentRow,
    MeasureEvidenceRow,
    MeasureRow,
    PackageItemRow,
    PackageRow,
    ProposalRow,
    ReviewRow,
    plain_sql,
)
from aireg_events.catalogue.analysis import MeasureStance
from aireg_events.catalogue.common import Organization, Outcome
from aireg_events.log.database import in_chunks

# --- queries the rules need ----------------------------------------------------------------------------


async def proposal_facts(session: AsyncSession, proposal_id: str) -> domain.ProposalFacts | None:
    row = await session.get(ProposalRow, proposal_id)
    if row is None:
        return None
    return (await facts_of(session, [row]))[proposal_id]


async def facts_of(session: AsyncSession, rows: Sequence[ProposalRow]) -> dict[str, domain.ProposalFacts]:
    """The rules' view of ``rows``, with their assignments and reviews (two queries for all of them)."""
    ids = [row.proposal_id for row in rows]
    assignments: dict[str, list[tuple[str, Organization]]] = {proposal_id: [] for proposal_id in ids}
    reviews: dict[str, list[domain.ReviewFact]] = {proposal_id: [] for proposal_id in ids}
    if ids:
        for assignment in (
            await session.exec(
                select(AssignmentRow)
                .where(col(AssignmentRow.proposal_id).in_(ids))
                .order_by(col(AssignmentRow.assigned_at), col(AssignmentRow.reviewer))
            )
        ).all():
            assignments[assignment.proposal_id].append(
                (assignment.reviewer, Organization(assignment.organization))
            )
        for review in (
            await session.exec(
                select(ReviewRow)
                .where(col(ReviewRow.proposal_id).in_(ids))
                .order_by(col(ReviewRow.submitted_at), col(ReviewRow.review_id))
            )
        ).all():
            reviews[review.proposal_id].append(
                domain.ReviewFact(
                    review.review_id,
                    review.reviewer,
                    Organization(review.organization),
                    review.proposal_version,
                )
            )
    return {
        row.proposal_id: domain.ProposalFacts(
            proposal_id=row.proposal_id,
            consultation_id=row.consultation_id,
            version=row.version,
            withdrawn=row.withdrawn,
            misattributed=row.misattributed,
            campaign_id=row.campaign_id,
            assessed_version=row.assessed_version,
            outcome=Outcome(row.outcome) if row.outcome else None,
            package_id=row.package_id,
            forwarded=row.forwarded_at is not None,
            assignments=tuple(assignments[row.proposal_id]),
            reviews=tuple(reviews[row.proposal_id]),
        )
        for row in rows
    }


async def package_facts(session: AsyncSession, package_id: str) -> domain.PackageFacts | None:
    package = await session.get(PackageRow, package_id)
    if package is None:
        return None
    items = (
        await session.exec(
            select(PackageItemRow.proposal_id)
            .where(PackageItemRow.package_id == package_id)
            .order_by(col(PackageItemRow.position))
        )
    ).all()
    return domain.PackageFacts(
        package_id=package.package_id,
        consultation_id=package.consultation_id,
        title=package.title,
        submitted=package.status == "submitted",
        items=tuple(items),
    )


async def counting_members(session: AsyncSession, campaign_ids: Iterable[str]) -> dict[str, int]:
    """How many members of each campaign still count (neither withdrawn nor misattributed)."""
    ids = sorted({campaign_id for campaign_id in campaign_ids if campaign_id})
    found: dict[str, int] = {}
    for chunk in in_chunks(ids):
        rows = await session.exec(
            select(ProposalRow.campaign_id, func.count())
            .where(
                col(ProposalRow.campaign_id).in_(chunk),
                col(ProposalRow.withdrawn).is_(False),
                col(ProposalRow.misattributed).is_(False),
            )
            .group_by(col(ProposalRow.campaign_id))
        )
        for campaign_id, count in rows.all():
            if campaign_id is not None:
                found[campaign_id] = int(count)
    return found


@dataclass(frozen=True)
class MeasureEvidence:
    """The evidence linked to some measures, in the order it was linked, and the proposals it names."""

    links: dict[str, list[MeasureEvidenceRow]]
    proposals: dict[str, ProposalRow]


async def measure_evidence(session: AsyncSession, measure_ids: Sequence[str]) -> MeasureEvidence:
    links: dict[str, list[MeasureEvidenceRow]] = {measure_id: [] for measure_id in measure_ids}
    for chunk in in_chunks(list(measure_ids)):
        for link in (
            await session.exec(
                select(MeasureEvidenceRow)
                .where(col(MeasureEvidenceRow.measure_id).in_(chunk))
                .order_by(col(MeasureEvidenceRow.linked_at), col(MeasureEvidenceRow.proposal_id))
            )
        ).all():
            links[link.measure_id].append(link)
    proposal_ids = sorted({link.proposal_id for found in links.values() for link in found})
    proposals: dict[str, ProposalRow] = {}
    for chunk in in_chunks(proposal_ids):
        for proposal in (
            await session.exec(select(ProposalRow).where(col(ProposalRow.proposal_id).in_(chunk)))
        ).all():
            proposals[proposal.proposal_id] = proposal
    return MeasureEvidence(links, proposals)


async def measure_facts_of(
    session: AsyncSession, rows: Sequence[MeasureRow], evidence: MeasureEvidence | None = None
) -> dict[str, measures.MeasureFacts]:
    """The rules' view of measures: their evidence as it stands now (whether each proposal still counts,
    the campaign it stands for and how many of that campaign count). ``evidence``: already loaded."""
    if evidence is None:
        evidence = await measure_evidence(session, [row.measure_id for row in rows])
    links, proposals = evidence.links, evidence.proposals
    members = await counting_members(
        session, (proposal.campaign_id for proposal in proposals.values() if proposal.campaign_id)
    )
    submitted: dict[str, bool] = {}
    for package_id in {row.package_id for row in rows if row.package_id}:
        package = await session.get(PackageRow, package_id)
        submitted[package_id] = package is not None and package.status == "submitted"

    def fact(link: MeasureEvidenceRow) -> measures.EvidenceFact:
        proposal = proposals.get(link.proposal_id)
        counts = proposal is not None and not proposal.withdrawn and not proposal.misattributed
        campaign_id = proposal.campaign_id if proposal is not None else None
        return measures.EvidenceFact(
            proposal_id=link.proposal_id,
            stance=MeasureStance(link.stance),
            counts=counts,
            campaign_id=campaign_id,
            campaign_signatories=measures.campaign_signatories(members, campaign_id),
        )

    return {
        row.measure_id: measures.MeasureFacts(
            measure_id=row.measure_id,
            consultation_id=row.consultation_id,
            status=measures.MeasureStatus(row.status),
            terms=row.measure_terms(),
            package_id=row.package_id,
            package_submitted=submitted.get(row.package_id, False) if row.package_id else False,
            evidence=tuple(fact(link) for link in links[row.measure_id]),
        )
        for row in rows
    }


async def measure_facts(session: AsyncSession, measure_id: str) -> measures.MeasureFacts | None:
    row = await session.get(MeasureRow, measure_id)
    if row is None:
        return None
    return (await measure_facts_of(session, [row]))[measure_id]


async def package_measures(session: AsyncSession, package_id: str) -> list[MeasureRow]:
    return list(
        (
            await session.exec(
                select(MeasureRow)
                .where(MeasureRow.package_id == package_id)
                .order_by(col(MeasureRow.package_position))
            )
        ).all()
    )


# What triage reads (``triage.py``), one query of each kind for a run of proposals: plain SQL built once
# (bound parameters), so that it costs neither the ORM's bookkeeping nor a statement's construction.
_CANDIDATES = (
    sa_select(
        PROPOSALS.c.proposal_id,
        PROPOSALS.c.received_at,
        PROPOSALS.c.campaign_id,
        PROPOSALS.c.released_from_campaign,
        SIGNATURES.c.hashvalues,
        PROPOSALS.c.content["text"].as_string(),
    )
    .join(SIGNATURES, SIGNATURES.c.proposal_id == PROPOSALS.c.proposal_id)
    .where(
        PROPOSALS.c.proposal_id.in_(bindparam("ids", expanding=True)),
        SIGNATURES.c.method_key == bindparam("method_key"),
    )
)
_CAMPAIGNS = (
    sa_select(CAMPAIGNS.c.campaign_id, CAMPAIGNS.c.representative_id, PROPOSALS.c.received_at)
    .join(PROPOSALS, PROPOSALS.c.proposal_id == CAMPAIGNS.c.representative_id)
    .where(CAMPAIGNS.c.campaign_id.in_(bindparam("ids", expanding=True)))
)


async def campaigns_by_id(
    session: AsyncSession, campaign_ids: Iterable[str]
) -> dict[str, domain.CampaignFacts]:
    ids = sorted(set(campaign_ids))
    if not ids:
        return {}
    connection = await plain_sql(session)
    rows = await connection.execute(_CAMPAIGNS, {"ids": ids})
    return {
        campaign_id: domain.CampaignFacts(campaign_id, representative_id, received_at)
        for campaign_id, representative_id, received_at in rows
    }


async def proposal_row(session: AsyncSession, proposal_id: str) -> ProposalRow:
    row = await session.get(ProposalRow, proposal_id)
    if row is None:
        raise LookupError(f"proposal {proposal_id} is not in the store")
    return row


_KEYS_CHUNK = 5000
"""Band keys per look-up: a run of 500 texts has 9,000 (18 bands each), two or three queries."""

_RECORDED = sa_select(PROPOSALS.c.proposal_id).where(
    PROPOSALS.c.proposal_id.in_(bindparam("ids", expanding=True))
)
_BAND_ROWS = sa_select(BANDS.c.consultation_id, BANDS.c.bucket, BANDS.c.proposal_id).where(
    BANDS.c.consultation_id.in_(bindparam("consultations", expanding=True)),
    BANDS.c.bucket.in_(bindparam("keys", expanding=True)),
)
_SAME_TEXTS = sa_select(
    PROPOSALS.c.proposal_id,
    PROPOSALS.c.consultation_id,
    PROPOSALS.c.text_sha256,
    PROPOSALS.c.received_at,
    PROPOSALS.c.exact_duplicate_of,
).where(
    PROPOSALS.c.consultation_id.in_(bindparam("consultations", expanding=True)),
    PROPOSALS.c.text_sha256.in_(bindparam("fingerprints", expanding=True)),
    PROPOSALS.c.withdrawn.is_(False),
)


async def recorded_among(session: AsyncSession, proposal_ids: Iterable[str]) -> set[str]:
    """Those of ``proposal_ids`` this service has recorded."""
    connection = await plain_sql(session)
    found: set[str] = set()
    for chunk in in_chunks(sorted(set(proposal_ids))):
        found.update((await connection.execute(_RECORDED, {"ids": chunk})).scalars())
    return found


async def band_rows(
    session: AsyncSession, consultation_ids: Iterable[str], keys: Iterable[int]
) -> list[tuple[str, int, str]]:
    """Every row of the LSH index of these consultations holding one of ``keys``: (consultation, key,
    proposal), one per band row (triage counts the keys each proposal shares)."""
    connection = await plain_sql(session)
    consultations = sorted(set(consultation_ids))
    found: list[tuple[str, int, str]] = []
    for chunk in in_chunks(sorted(set(keys)), _KEYS_CHUNK):
        rows = await connection.execute(_BAND_ROWS, {"consultations": consultations, "keys": chunk})
        found += [(consultation, int(bucket), proposal) for consultation, bucket, proposal in rows]
    return found


async def candidates_by_id(
    session: AsyncSession, proposal_ids: Iterable[str], method: SimilarityMethod
) -> dict[str, tuple[datetime, str | None, bool, bytes, str]]:
    """(received_at, campaign_id, released, signature, text) of those of ``proposal_ids`` with a
    signature of ``method`` (what triage compares)."""
    connection = await plain_sql(session)
    found: dict[str, tuple[datetime, str | None, bool, bytes, str]] = {}
    for chunk in in_chunks(sorted(set(proposal_ids))):
        rows = await connection.execute(_CANDIDATES, {"ids": chunk, "method_key": method.key})
        for proposal_id, received_at, campaign_id, released, values, text in rows:
            found[proposal_id] = (received_at, campaign_id, bool(released), values, text)
    return found


async def same_texts(
    session: AsyncSession, consultation_ids: Iterable[str], fingerprints: Iterable[str]
) -> list[tuple[str, str, str, datetime, str | None]]:
    """Proposals not withdrawn of these consultations whose text has one of ``fingerprints``:
    (proposal, consultation, fingerprint, received_at, exact_duplicate_of)."""
    connection = await plain_sql(session)
    consultations = sorted(set(consultation_ids))
    found: list[tuple[str, str, str, datetime, str | None]] = []
    for chunk in in_chunks(sorted(set(fingerprints))):
        rows = await connection.execute(_SAME_TEXTS, {"consultations": consultations, "fingerprints": chunk})
        found += [
            (proposal, consultation, text, at, original)
            for proposal, consultation, text, at, original in rows
        ]
    return found
