"""How a received event changes reporting's tables: keep the envelope with the next stream number, link
it to the proposals and packages it concerns, and fold each of those again from all its events.

The consumer calls :func:`project` inside the transaction that also writes the inbox row; the rebuild
inserts the same rows (:func:`received_rows`) for everything it reads back from the topics and folds
every proposal and package once at the end (:mod:`aireg_reporting.rebuild`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.catalogue import ChainCheckpoint
from aireg_events.catalogue.submission import ConsultationOpened, PortalResumed, PortalSuspended
from aireg_reporting import domain
from aireg_reporting.domain import Received
from aireg_reporting.store import (
    CheckpointRow,
    ConsultationRow,
    EventSubjectRow,
    PackageItemRow,
    PackageRow,
    PortalRow,
    ProposalRow,
    ReceivedEventRow,
    ReviewRow,
    StateTable,
    TriageLinkRow,
    TriageNodeRow,
)

_SEQ_LOCK_KEY = 0x41495245_47534551 & 0x7FFFFFFFFFFFFFFF  # "AIREGSEQ"

# The statements of one event, built once with bound parameters (expanding ones for lists), on the
# tables themselves: a statement built per event costs its cache key each time, and one on the ORM
# classes goes through the ORM's bulk machinery (half of an insert's time, measured).
_RECEIVED = ReceivedEventRow.__table__  # type: ignore[attr-defined]
_SUBJECT = EventSubjectRow.__table__  # type: ignore[attr-defined]
_LINK = TriageLinkRow.__table__  # type: ignore[attr-defined]
_NODE = TriageNodeRow.__table__  # type: ignore[attr-defined]
_PROPOSAL = ProposalRow.__table__  # type: ignore[attr-defined]
_REVIEW = ReviewRow.__table__  # type: ignore[attr-defined]
_SEQ_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_HEAD_SEQ = select(func.max(_RECEIVED.c.seq))
_INSERT_RECEIVED = insert(_RECEIVED)
_INSERT_SUBJECTS = insert(_SUBJECT)
_INSERT_LINK = insert(_LINK)
_INSERT_NODES = insert(_NODE)
_EVENTS_AND_FACTS_OF_PROPOSALS = (
    select(
        _SUBJECT.c.subject_id,
        _RECEIVED.c.event_id,
        _RECEIVED.c.body,
        _PROPOSAL.c.campaign_id,
        _PROPOSAL.c.campaign_representative,
        _PROPOSAL.c.exact_duplicate_of,
    )
    .select_from(
        _SUBJECT.join(_RECEIVED, _RECEIVED.c.event_id == _SUBJECT.c.event_id).outerjoin(
            _PROPOSAL, _PROPOSAL.c.proposal_id == _SUBJECT.c.subject_id
        )
    )
    .where(
        _SUBJECT.c.subject_kind == "proposal",
        _SUBJECT.c.subject_id.in_(bindparam("proposal_ids", expanding=True)),
    )
    .order_by(_SUBJECT.c.subject_id, _SUBJECT.c.event_id)
)
_BODIES_OF_SUBJECT = (
    select(_RECEIVED.c.event_id, _RECEIVED.c.body)
    .select_from(_SUBJECT.join(_RECEIVED, _RECEIVED.c.event_id == _SUBJECT.c.event_id))
    .where(_SUBJECT.c.subject_kind == bindparam("kind"), _SUBJECT.c.subject_id == bindparam("subject_id"))
    .order_by(_SUBJECT.c.event_id)
)
_DELETE_REVIEWS_OF_PROPOSAL = delete(_REVIEW).where(_REVIEW.c.proposal_id == bindparam("proposal_id"))
_DELETE_PROPOSAL = delete(_PROPOSAL).where(_PROPOSAL.c.proposal_id == bindparam("proposal_id"))
_START, _NAMED = _NODE.alias("start"), _NODE.alias("named")
_IN_CHUNK = 1000
"""How many ids one ``IN`` list carries (SQLite and PostgreSQL cap the parameters of a statement)."""

_LINK_COLUMNS = (
    _LINK.c.log_position,
    _LINK.c.event_id,
    _LINK.c.proposal_id,
    _LINK.c.released,
    _LINK.c.campaign_id,
    _LINK.c.merged_campaigns,
    _LINK.c.grouped_with,
    _LINK.c.exact_duplicate_of,
    _LINK.c.exact_duplicates,
)
_NAMED_TOGETHER = (
    select(_NAMED.c.node_kind, _NAMED.c.node_id, *_LINK_COLUMNS)
    .select_from(
        _START.join(_NAMED, _NAMED.c.event_id == _START.c.event_id).join(
            _LINK, _LINK.c.event_id == _NAMED.c.event_id
        )
    )
    .where(
        _START.c.consultation_id == bindparam("consultation_id"),
        _START.c.node_kind == bindparam("node_kind"),
        _START.c.node_id.in_(bindparam("node_ids", expanding=True)),
    )
)
_LINKS_OF_CONSULTATION = select(*_LINK_COLUMNS).where(_LINK.c.consultation_id == bindparam("consultation_id"))
_GROUPED_COLUMNS = (
    _PROPOSAL.c.proposal_id,
    _PROPOSAL.c.received_at,
    _PROPOSAL.c.withdrawn_at,
    _PROPOSAL.c.campaign_id,
    _PROPOSAL.c.campaign_representative,
    _PROPOSAL.c.exact_duplicate_of,
)
_GROUPED_BY_ID = select(*_GROUPED_COLUMNS).where(
    _PROPOSAL.c.consultation_id == bindparam("consultation_id"),
    _PROPOSAL.c.proposal_id.in_(bindparam("proposal_ids", expanding=True)),
)
_GROUPED_OF_CONSULTATION = select(*_GROUPED_COLUMNS).where(
    _PROPOSAL.c.consultation_id == bindparam("consultation_id")
)


@dataclass(frozen=True)
class ReceivedRows:
    """The rows an event adds as it is received, before any fold: the envelope with its stream number,
    its links to proposals and packages, and what it says about grouping (if it is a triage or a
    release). The live projection and the rebuild insert the same."""

    event: dict[str, Any]
    subjects: list[dict[str, Any]]
    link: dict[str, Any] | None
    nodes: list[dict[str, Any]]


def received_rows(received: Received, *, seq: int, received_at: datetime) -> ReceivedRows:
    envelope, event = received.envelope, received.event
    consultation_id = domain.consultation_of(event)
    subjects = [("proposal", proposal_id) for proposal_id in domain.proposals_of(event)]
    subjects += [("package", package_id) for package_id in domain.packages_of(event)]
    link = domain.TriageLink.of(received)
    return ReceivedRows(
        event={
            "event_id": envelope.event_id,
            "seq": seq,
            "producer": envelope.producer,
            "log_position": envelope.log_position,
            "event_type": envelope.event_type,
            "stream_id": envelope.stream_id,
            "stream_version": envelope.stream_version,
            "occurred_at": envelope.occurred_at,
            "consultation_id": consultation_id,
            "received_at": received_at,
            "body": envelope.to_canonical().decode(),
        },
        subjects=[
            {"subject_kind": kind, "subject_id": subject_id, "event_id": envelope.event_id}
            for kind, subject_id in subjects
        ],
        link=None
        if link is None or consultation_id is None
        else {
            "event_id": link.event_id,
            "consultation_id": consultation_id,
            "log_position": link.log_position,
            "proposal_id": link.proposal_id,
            "released": link.released,
            "campaign_id": link.campaign_id,
            "merged_campaigns": list(link.merged_campaigns),
            "grouped_with": list(link.grouped_with),
            "exact_duplicate_of": link.exact_duplicate_of,
            "exact_duplicates": list(link.exact_duplicates),
        },
        nodes=[]
        if link is None or consultation_id is None
        else [
            {
                "event_id": link.event_id,
                "node_kind": kind,
                "node_id": node_id,
                "consultation_id": consultation_id,
            }
            for kind, node_id in link.nodes
        ],
    )


async def project_own_rows(session: AsyncSession, received: Received) -> None:
    """The tables that keep one row per consultation, portal and producer (not folds)."""
    event = received.event
    if isinstance(event, ConsultationOpened):
        await _project_consultation(session, received, event)
    elif isinstance(event, (PortalSuspended, PortalResumed)):
        await _project_portal(session, received, event)
    elif isinstance(event, ChainCheckpoint):
        await _project_checkpoint(session, received, event)


async def project(session: AsyncSession, received: Received, *, received_at: datetime) -> int:
    """Apply one event (not applied before) to the read models; returns its stream number."""
    return (await project_all(session, [received], received_at=received_at))[0]


async def project_all(
    session: AsyncSession, items: Sequence[Received], *, received_at: datetime
) -> list[int]:
    """Apply events (none applied before, no two alike) in order, as :func:`project` would one after
    another, but at once: the rows each adds in one insert per table, each proposal and package they
    concern folded once, each grouping they can change replayed once. Returns their stream numbers."""
    if not items:
        return []
    first = await _next_seq(session, len(items))
    rows = [
        received_rows(item, seq=first + index, received_at=received_at) for index, item in enumerate(items)
    ]
    await session.execute(_INSERT_RECEIVED, [row.event for row in rows])
    subjects = [subject for row in rows for subject in row.subjects]
    if subjects:
        await session.execute(_INSERT_SUBJECTS, subjects)
    links = [row.link for row in rows if row.link is not None]
    if links:
        await session.execute(_INSERT_LINK, links)
    nodes = [node for row in rows for node in row.nodes]
    if nodes:
        await session.execute(_INSERT_NODES, nodes)
    proposal_ids: dict[str, None] = {}
    starts: dict[tuple[str, str], None] = {}
    package_ids: dict[str, None] = {}
    for item in items:
        _PARSED.keep(item)  # the folds below read it back
        await project_own_rows(session, item)
        event = item.event
        if domain.changes_proposal_state(event):
            proposal_ids.update(dict.fromkeys(domain.proposals_of(event)))
        consultation_id = domain.consultation_of(event)
        start = _grouping_start(item, domain.TriageLink.of(item))
        if consultation_id is not None and start is not None:
            starts[(consultation_id, start)] = None
        package_ids.update(dict.fromkeys(domain.packages_of(event)))
    folded = await _fold_all(session, list(proposal_ids))
    for consultation_id, start in starts:
        await regroup_around(session, consultation_id, start, folded)
    await _store_all(session, list(folded.values()))
    for package_id in package_ids:
        await refold_package(session, package_id)
    return [first + index for index in range(len(items))]


async def _next_seq(session: AsyncSession, count: int = 1) -> int:
    """The first of the next ``count`` stream numbers: read once per transaction (savepoint), then
    counted on."""
    sync_session = session.sync_session
    transaction = sync_session.get_nested_transaction() or sync_session.get_transaction()
    known = session.info.get(_SEQ_INFO)
    if known is not None and known[0] is transaction and transaction is not None and transaction.is_active:
        seq = int(known[1]) + 1
    else:
        if session.get_bind().dialect.name == "postgresql":
            # Replicas share the database: one numbers events at a time, so the numbers stay gap-free.
            await session.execute(_SEQ_LOCK, {"key": _SEQ_LOCK_KEY})
        seq = int((await session.execute(_HEAD_SEQ)).scalar_one() or 0) + 1
    # Kept with the transaction it was counted in: a savepoint rolled back (a failed batch applied
    # again one by one) is another transaction, so the number is read again, never counted past a gap.
    session.info[_SEQ_INFO] = (transaction, seq + count - 1)
    return seq


_SEQ_INFO = "aireg_reporting.seq"


async def _project_consultation(session: AsyncSession, received: Received, event: ConsultationOpened) -> None:
    await session.execute(
        delete(ConsultationRow).where(col(ConsultationRow.consultation_id) == event.consultation_id)
    )
    await session.execute(
        insert(ConsultationRow).values(
            consultation_id=event.consultation_id,
            code=event.code,
            title=event.title,
            submission_opens_at=event.submission_opens_at,
            submission_closes_at=event.submission_closes_at,
            analysis_due_at=event.analysis_due_at,
            forwarding_due_at=event.forwarding_due_at,
            late_submissions=event.late_submissions.value,
            time_zone=event.time_zone,
            language=event.language,
            opened_at=received.occurred_at,
            event_id=received.event_id,
        )
    )


async def _project_portal(
    session: AsyncSession, received: Received, event: PortalSuspended | PortalResumed
) -> None:
    known = await session.get(PortalRow, event.portal)
    version = received.envelope.stream_version
    if known is not None and known.stream_version >= version:
        return  # an older suspension or resumption arriving late changes nothing
    await session.execute(delete(PortalRow).where(col(PortalRow.portal) == event.portal))
    await session.execute(
        insert(PortalRow).values(
            portal=event.portal,
            suspended=isinstance(event, PortalSuspended),
            reason=event.reason,
            since=received.occurred_at,
            stream_version=version,
            event_id=received.event_id,
        )
    )


async def _project_checkpoint(session: AsyncSession, received: Received, event: ChainCheckpoint) -> None:
    producer = received.envelope.producer
    known = await session.get(CheckpointRow, producer)
    if known is not None and known.head_position >= event.head_position:
        return
    await session.execute(delete(CheckpointRow).where(col(CheckpointRow.producer) == producer))
    await session.execute(
        insert(CheckpointRow).values(
            producer=producer,
            head_position=event.head_position,
            head_hash=event.head_hash,
            signed_at=event.signed_at,
            key_id=event.key_id,
            event_id=received.event_id,
        )
    )


async def _received(session: AsyncSession, kind: str, subject_id: str) -> list[Received]:
    bodies = await session.execute(_BODIES_OF_SUBJECT, {"kind": kind, "subject_id": subject_id})
    return [_PARSED.get(event_id, body) for event_id, body in bodies]


class _ParsedEvents:
    """The events last parsed, by id: a proposal is folded again from all its events at each new one,
    and parsing (validating) an envelope costs more than the rest of the fold. An event id always
    names the same body, so a hit is never stale; bounded, oldest first out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: dict[str, Received] = {}

    def get(self, event_id: str, body: str) -> Received:
        found = self.items.get(event_id)
        if found is None:
            found = Received.parse(body)
            self.keep(found)
        return found

    def keep(self, received: Received) -> None:
        self.items[received.event_id] = received
        if len(self.items) > self.size:
            del self.items[next(iter(self.items))]


_PARSED = _ParsedEvents(4096)


def _grouping_start(received: Received, link: domain.TriageLink | None) -> str | None:
    """The proposal whose connected proposals the event may regroup (None for an event that cannot
    change its consultation's campaigns or duplicates): a triage's or release's own, a submission's
    (its time picks representatives), a withdrawal's (it leaves its campaign)."""
    if not domain.changes_grouping(received.event):
        return None
    if link is not None:
        return link.proposal_id
    proposal_id = getattr(received.event, "proposal_id", None)
    return proposal_id if isinstance(proposal_id, str) else None


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[start : start + _IN_CHUNK] for start in range(0, len(ids), _IN_CHUNK)]


@dataclass(frozen=True)
class _Grouped:
    """A stored proposal as grouping sees it: when it was received, whether it was withdrawn, and the
    facts its row holds."""

    proposal_id: str
    received_at: datetime
    withdrawn: bool
    facts: domain.GroupFacts


def _grouped(rows: Any) -> list[_Grouped]:
    return [
        _Grouped(proposal_id, received_at, withdrawn_at is not None, domain.GroupFacts(*facts))
        for proposal_id, received_at, withdrawn_at, *facts in rows
    ]


def _link(row: Any) -> domain.TriageLink:
    (log_position, event_id, proposal_id, released, campaign_id, merged, grouped, original, duplicates) = row
    return domain.TriageLink(
        log_position=log_position,
        event_id=event_id,
        proposal_id=proposal_id,
        released=released,
        campaign_id=campaign_id,
        merged_campaigns=tuple(merged),
        grouped_with=tuple(grouped),
        exact_duplicate_of=original,
        exact_duplicates=tuple(duplicates),
    )


async def _connected(
    session: AsyncSession, consultation_id: str, proposal_id: str
) -> tuple[set[str], list[domain.TriageLink]]:
    """The proposals connected to ``proposal_id`` through the triage links of the consultation (itself
    included), and those links: a search along ``triage_node``, one query per step."""
    seen = {("proposal", proposal_id)}
    frontier: dict[str, list[str]] = {"proposal": [proposal_id]}
    links: dict[str, domain.TriageLink] = {}
    while frontier:
        named: list[Any] = []
        for kind, ids in frontier.items():
            for chunk in _chunks(ids):
                parameters = {"consultation_id": consultation_id, "node_kind": kind, "node_ids": chunk}
                named.extend(await session.execute(_NAMED_TOGETHER, parameters))
        frontier = {}
        for kind, node_id, *link in named:
            if link[1] not in links:
                links[link[1]] = _link(link)
            if (kind, node_id) not in seen:
                seen.add((kind, node_id))
                frontier.setdefault(kind, []).append(node_id)
    return {node_id for kind, node_id in seen if kind == "proposal"}, list(links.values())


async def regroup_around(
    session: AsyncSession,
    consultation_id: str,
    proposal_id: str,
    folded: Mapping[str, domain.ProposalState] | None = None,
) -> None:
    """Place every proposal connected to ``proposal_id`` (through triage links) as a replay of the
    consultation's triage links would: what an event about that proposal can change, and all of it
    (see :func:`domain.group`). The same facts as :func:`regroup_consultation`, at the cost of the
    proposals connected instead of the whole consultation.

    ``folded``: the event's proposals, folded again and not stored yet; they are regrouped in place
    (the caller stores them), the others connected are folded again if their campaign or original
    changed.
    """
    folded = folded or {}
    proposal_ids, links = await _connected(session, consultation_id, proposal_id)
    fresh = {
        key: state
        for key, state in folded.items()
        if key in proposal_ids and state.is_submitted and state.consultation_id == consultation_id
    }
    grouped = [
        _Grouped(key, state.received_at, state.withdrawn_at is not None, domain.GroupFacts())
        for key, state in fresh.items()
        if state.received_at is not None
    ]
    others = sorted(proposal_ids - folded.keys())
    if links and others:  # without a link naming it, a proposal is in no campaign and no duplicate
        for chunk in _chunks(others):
            parameters = {"consultation_id": consultation_id, "proposal_ids": chunk}
            grouped.extend(_grouped(await session.execute(_GROUPED_BY_ID, parameters)))
    grouping = _grouping(links, grouped)
    for key, state in fresh.items():
        state.regroup(grouping.facts(key))
    for item in grouped:
        if item.proposal_id not in fresh:
            facts = grouping.facts(item.proposal_id)
            if facts != item.facts:
                await refold_proposal(session, item.proposal_id, facts)


async def regroup_consultation(session: AsyncSession, consultation_id: str) -> None:
    """Fold again every proposal of the consultation whose campaign or original changed, replaying all
    its triage links (the rebuild's final pass; :func:`regroup_around` is what one event needs)."""
    parameters = {"consultation_id": consultation_id}
    links = [_link(row) for row in await session.execute(_LINKS_OF_CONSULTATION, parameters)]
    grouped = _grouped(await session.execute(_GROUPED_OF_CONSULTATION, parameters))
    await _regroup(session, links, grouped)


async def grouping_of(session: AsyncSession, consultation_id: str) -> domain.Grouping:
    """The campaigns and duplicates of the whole consultation, replayed from every triage link."""
    parameters = {"consultation_id": consultation_id}
    links = [_link(row) for row in await session.execute(_LINKS_OF_CONSULTATION, parameters)]
    return _grouping(links, _grouped(await session.execute(_GROUPED_OF_CONSULTATION, parameters)))


def _grouping(links: list[domain.TriageLink], grouped: list[_Grouped]) -> domain.Grouping:
    return domain.group(
        links,
        received_at={item.proposal_id: item.received_at for item in grouped},
        withdrawn={item.proposal_id for item in grouped if item.withdrawn},
    )


async def _regroup(session: AsyncSession, links: list[domain.TriageLink], grouped: list[_Grouped]) -> None:
    grouping = _grouping(links, grouped)
    for item in grouped:
        facts = grouping.facts(item.proposal_id)
        if facts != item.facts:
            await refold_proposal(session, item.proposal_id, facts)


async def _fold_all(session: AsyncSession, proposal_ids: list[str]) -> dict[str, domain.ProposalState]:
    """Each proposal folded from every event received about it, placed as its row places it (its
    campaign and original), or nowhere if it has no row yet: one query per thousand proposals."""
    folded: dict[str, domain.ProposalState] = {}
    for chunk in _chunks(proposal_ids):
        rows = await session.execute(_EVENTS_AND_FACTS_OF_PROPOSALS, {"proposal_ids": chunk})
        for proposal_id, group in groupby(rows, key=lambda row: row[0]):
            mine = list(group)
            folded[proposal_id] = domain.fold_proposal(
                proposal_id,
                [_PARSED.get(event_id, body) for _, event_id, body, *_ in mine],
                domain.GroupFacts(*mine[0][3:]),
            )
    # in the order asked; one with no event received is not submitted, so it has no row
    return {
        proposal_id: folded.get(proposal_id) or domain.fold_proposal(proposal_id, [], domain.GroupFacts())
        for proposal_id in proposal_ids
    }


async def _store_all(session: AsyncSession, states: Sequence[domain.ProposalState]) -> None:
    """Replace each proposal's rows by its state (none while its ``ProposalSubmitted`` has not arrived:
    the events wait)."""
    waiting = [{"proposal_id": state.proposal_id} for state in states if not state.is_submitted]
    if waiting:
        await session.execute(_DELETE_REVIEWS_OF_PROPOSAL, waiting)
        await session.execute(_DELETE_PROPOSAL, waiting)
    proposals: list[dict[str, Any]] = []
    reviews: list[dict[str, Any]] = []
    for state in states:
        if state.is_submitted:
            proposal, its_reviews = proposal_rows(state)
            proposals.append(proposal)
            reviews.extend(its_reviews)  # a fold has every review an earlier fold had
    if proposals:
        await session.execute(_upsert(session, ProposalRow), proposals)
    if reviews:
        await session.execute(_upsert(session, ReviewRow), reviews)


async def refold_proposal(
    session: AsyncSession, proposal_id: str, facts: domain.GroupFacts | None = None
) -> None:
    """Replace the proposal's rows by the fold of every event received about it; its campaign and
    original stay as they were unless ``facts`` says otherwise."""
    state = (await _fold_all(session, [proposal_id]))[proposal_id]
    if facts is not None:
        state.regroup(facts)
    await _store_all(session, [state])


def _upsert(session: AsyncSession, table: type[StateTable]) -> Any:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE`` of every column: one statement where a
    delete and an insert were two."""
    dialect = session.get_bind().dialect.name
    key = (dialect, str(table.__tablename__))
    statement = _UPSERTS.get(key)
    if statement is None:
        core_table = table.__table__  # type: ignore[attr-defined]
        columns = core_table.columns
        base = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(core_table)
        statement = base.on_conflict_do_update(
            index_elements=[column.name for column in columns if column.primary_key],
            set_={column.name: base.excluded[column.name] for column in columns if not column.primary_key},
        )
        _UPSERTS[key] = statement
    return statement


_UPSERTS: dict[tuple[str, str], Any] = {}


def proposal_rows(state: domain.ProposalState) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``proposal`` row of a submitted proposal's state, and its ``review`` rows."""
    assert state.consultation_id is not None
    reviews = [
        {
            "review_id": review.review_id,
            "proposal_id": state.proposal_id,
            "consultation_id": state.consultation_id,
            "reviewer": review.reviewer,
            "organization": review.organization,
            "proposal_version": review.proposal_version,
            **review.scores,
            "recommendation": review.recommendation,
            "rationale": review.rationale,
            "submitted_at": review.submitted_at,
            "event_id": review.event_id,
        }
        for review in state.reviews.values()
    ]
    return state.columns(), reviews


async def refold_package(session: AsyncSession, package_id: str) -> None:
    state = domain.fold_package(package_id, await _received(session, "package", package_id))
    await session.execute(delete(PackageItemRow).where(col(PackageItemRow.package_id) == package_id))
    await session.execute(delete(PackageRow).where(col(PackageRow.package_id) == package_id))
    if not state.is_opened or state.consultation_id is None or state.opened_at is None:
        return
    items = state.items
    await session.execute(
        insert(PackageRow).values(
            package_id=package_id,
            consultation_id=state.consultation_id,
            title=state.title or "",
            status=state.status,
            opened_at=state.opened_at,
            submitted_at=state.submitted_at,
            late=state.late,
            counts=state.counts,
            proposal_count=len(items),
            event_ids=state.event_ids,
        )
    )
    if items:
        await session.execute(
            insert(PackageItemRow),
            [
                {
                    "package_id": package_id,
                    "proposal_id": item.proposal_id,
                    "position": index,
                    "event_id": item.event_id,
                }
                for index, item in enumerate(items, start=1)
            ],
        )
