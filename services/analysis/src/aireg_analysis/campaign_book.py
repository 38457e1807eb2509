"""The house's campaign model (:mod:`aireg_events.campaigns`) over this service's rows: the book is loaded
with the proposals and campaigns a batch of decisions names, folds them, and writes back what changed.

Here a proposal's row names the campaign it belongs to now (a merge moves the members of the campaign
merged away, which is then deleted), a withdrawn proposal belongs to none, and a campaign left with fewer
than two members is dissolved (its row deleted, its lone member in none): triage never names it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_analysis.tables import CAMPAIGNS, PROPOSALS, CampaignRow, ProposalRow, plain_sql
from aireg_events.campaigns import Campaign, CampaignBook, Placement, first_received, fold_decision, named_by
from aireg_events.canonical import canonical_json, loads
from aireg_events.catalogue.analysis import ProposalTriaged
from aireg_events.catalogue.common import DomainEvent
from aireg_events.envelope import Envelope
from aireg_events.log.database import in_chunks

_PLACEMENTS = sa_select(
    PROPOSALS.c.proposal_id, PROPOSALS.c.consultation_id, PROPOSALS.c.campaign_id, PROPOSALS.c.received_at
).where(PROPOSALS.c.proposal_id.in_(bindparam("ids", expanding=True)))
_CAMPAIGNS = (
    sa_select(
        CAMPAIGNS.c.campaign_id,
        CAMPAIGNS.c.consultation_id,
        CAMPAIGNS.c.representative_id,
        CAMPAIGNS.c.size,
        PROPOSALS.c.received_at,
    )
    .select_from(CAMPAIGNS.outerjoin(PROPOSALS, PROPOSALS.c.proposal_id == CAMPAIGNS.c.representative_id))
    .where(CAMPAIGNS.c.campaign_id.in_(bindparam("ids", expanding=True)))
)
_MEMBERS = sa_select(PROPOSALS.c.received_at, PROPOSALS.c.proposal_id).where(
    PROPOSALS.c.campaign_id == bindparam("campaign")
)
_SET_CAMPAIGN = (
    update(PROPOSALS)
    .where(PROPOSALS.c.proposal_id == bindparam("target"))
    .values(campaign_id=bindparam("campaign"))
)
_MOVE_MEMBERS = (
    update(PROPOSALS)
    .where(PROPOSALS.c.campaign_id == bindparam("absorbed"))
    .values(campaign_id=bindparam("survivor"))
)
_REFRESH = (
    update(CAMPAIGNS)
    .where(CAMPAIGNS.c.campaign_id == bindparam("target"))
    .values(size=bindparam("size"), representative_id=bindparam("representative"))
)
_DELETE = delete(CAMPAIGNS).where(CAMPAIGNS.c.campaign_id.in_(bindparam("ids", expanding=True)))
_INSERT = insert(CAMPAIGNS)


@dataclass(frozen=True)
class Decision:
    """An event that may change campaigns, with the envelope it was recorded in."""

    envelope: Envelope
    event: DomainEvent


async def fold_campaigns(session: AsyncSession, decisions: Sequence[Decision]) -> None:
    """Apply the campaign side of ``decisions`` (triages, releases, withdrawals), in order, to the rows."""
    if not decisions:
        return
    connection = await plain_sql(session)
    book = CampaignBook()
    proposal_ids: set[str] = set()
    campaign_ids: set[str] = set()
    for decision in decisions:
        proposals, campaigns = named_by(decision.event)
        proposal_ids |= proposals
        campaign_ids |= campaigns
    for chunk in in_chunks(sorted(proposal_ids)):
        for proposal_id, consultation_id, campaign_id, received_at in await connection.execute(
            _PLACEMENTS, {"ids": chunk}
        ):
            # Withdrawn proposals belong to no campaign here: each placement loads as not withdrawn.
            book.placements[proposal_id] = Placement(
                proposal_id, consultation_id, campaign_id, received_at=received_at
            )
            if campaign_id is not None:
                campaign_ids.add(campaign_id)
    stored = await _load_campaigns(session, book, campaign_ids)
    for placement in book.placements.values():
        if placement.campaign_id is not None and placement.campaign_id not in stored:
            placement.campaign_id = None  # a campaign no longer stored holds nobody
    book.take_changes()  # what was loaded is no change
    for position, decision in enumerate(decisions, start=1):
        fold_decision(book, decision.event, position)
    opening: dict[str, Decision] = {}
    for decision in decisions:
        if isinstance(decision.event, ProposalTriaged) and decision.event.campaign_id is not None:
            opening.setdefault(decision.event.campaign_id, decision)  # the first names it when it opens
    await _write(session, book, stored, opening)


async def _load_campaigns(session: AsyncSession, book: CampaignBook, campaign_ids: Iterable[str]) -> set[str]:
    connection = await plain_sql(session)
    stored: set[str] = set()
    for chunk in in_chunks(sorted(set(campaign_ids))):
        for campaign_id, consultation_id, representative, size, received_at in await connection.execute(
            _CAMPAIGNS, {"ids": chunk}
        ):
            book.campaigns[(consultation_id, campaign_id)] = Campaign(
                consultation_id,
                campaign_id,
                campaign_id,
                members=size,
                representative=representative,
                representative_received_at=received_at,
            )
            stored.add(campaign_id)
    return stored


def _belongs_to(book: CampaignBook, placement: Placement) -> str | None:
    if placement.campaign_id is None or placement.withdrawn:
        return None
    return book.find(placement.consultation_id, placement.campaign_id)[1]


async def _write(
    session: AsyncSession, book: CampaignBook, stored: set[str], opening: Mapping[str, Decision]
) -> None:
    """Members first (merges move them, then each placement), then the elections of the campaigns
    whose representative left (read from the members now stored), then the campaigns themselves."""
    connection = await plain_sql(session)
    placements, moved, merges = book.take_changes()
    absorbed_into = {absorbed[1]: survivor for absorbed, survivor in merges}
    if merges:
        await connection.execute(
            _MOVE_MEMBERS, [{"absorbed": absorbed[1], "survivor": survivor} for absorbed, survivor in merges]
        )
    member_of = {placement.proposal_id: _belongs_to(book, placement) for placement in placements}
    if member_of:
        await connection.execute(
            _SET_CAMPAIGN,
            [{"target": target, "campaign": campaign} for target, campaign in member_of.items()],
        )
    for key in book.elections():
        members = (await connection.execute(_MEMBERS, {"campaign": key[1]})).all()
        elected = first_received((received_at, proposal_id) for received_at, proposal_id in members)
        received = {proposal_id: received_at for received_at, proposal_id in members}
        book.elected(
            key,
            None if elected is None else Placement(elected, key[0], key[1], received_at=received[elected]),
        )
    changed = {(campaign.consultation_id, campaign.campaign_id): campaign for campaign in moved}
    changed.update(
        {(campaign.consultation_id, campaign.campaign_id): campaign for campaign in book.take_changes()[1]}
    )
    gone: list[str] = []
    dissolved: list[str] = []
    refreshed: list[dict[str, Any]] = []
    opened: list[dict[str, Any]] = []
    for campaign in changed.values():
        campaign_id = campaign.campaign_id
        if campaign.parent != campaign_id or not campaign.is_active:
            if campaign.parent == campaign_id:
                dissolved.append(campaign_id)
            if campaign_id in stored:
                gone.append(campaign_id)
        elif campaign_id in stored:
            refreshed.append(
                {"target": campaign_id, "size": campaign.members, "representative": campaign.representative}
            )
        else:
            decision = opening[campaign_id]
            assert isinstance(decision.event, ProposalTriaged)
            opened.append(
                {
                    "campaign_id": campaign_id,
                    "consultation_id": campaign.consultation_id,
                    "representative_id": campaign.representative,
                    "size": campaign.members,
                    "opened_at": decision.envelope.occurred_at,
                    "method": loads(canonical_json(decision.event.method.model_dump(mode="json"))),
                }
            )
    if dissolved:
        await connection.execute(
            _MOVE_MEMBERS, [{"absorbed": gone_id, "survivor": None} for gone_id in dissolved]
        )
    for chunk in in_chunks(sorted(gone)):
        await connection.execute(_DELETE, {"ids": chunk})
    if refreshed:
        await connection.execute(_REFRESH, refreshed)
    if opened:
        await connection.execute(_INSERT, opened)
    _keep_loaded_rows_current(session, member_of, absorbed_into, set(dissolved), changed.keys())


def _keep_loaded_rows_current(
    session: AsyncSession,
    member_of: Mapping[str, str | None],
    absorbed_into: Mapping[str, str],
    dissolved: set[str],
    campaigns: Iterable[tuple[str, str]],
) -> None:
    """The ORM's copies the session holds, as the statements above left the rows (a later step of the
    same unit of work reads them)."""
    touched = {campaign_id for _consultation, campaign_id in campaigns}
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, CampaignRow) and loaded.campaign_id in touched:
            session.expunge(loaded)
        elif isinstance(loaded, ProposalRow):
            if loaded.proposal_id in member_of:
                campaign_id = member_of[loaded.proposal_id]
            else:
                campaign_id = loaded.campaign_id
                while campaign_id is not None and campaign_id in absorbed_into:
                    campaign_id = absorbed_into[campaign_id]
            if campaign_id in dissolved:
                campaign_id = None
            if campaign_id != loaded.campaign_id:
                set_committed_value(loaded, "campaign_id", campaign_id)
