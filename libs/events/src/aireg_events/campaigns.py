"""The campaign model, once for the house: membership, merges (a union) and the representative (the member
received first: :func:`rank`), folded per event at a cost that does not grow with a campaign's size; pure,
no I/O. Analysis's triage ranks campaigns and names representatives with it, analysis's projection keeps
its campaign rows with the book, and reporting keeps its campaign book with it (in tables, loading the
rows an event names and writing back the changed ones; the package document a whole consultation in
memory).

Analysis says everything in its events: a triage puts its proposal (and ``grouped_with``) in
``campaign_id``, merges ``merged_campaigns`` into it, names ``exact_duplicate_of`` and ``exact_duplicates``;
a release takes a proposal out. Reporting folds those decisions and never recomputes similarity.

- A proposal's placement is the latest decision about it in analysis's log order (its log position wins,
  not the order the topic partitions deliver in), so the fold does not depend on arrival order.
- A merge is a union: the merged campaign points at the campaign that absorbed it (union-find; every
  campaign points straight at its survivor, since a merge re-points those that pointed at the merged
  one), and the survivor's member count takes the merged one's. Members are never moved one by one.
- Members are counted per surviving campaign: placed there, not withdrawn (a withdrawal is not in
  analysis's log, so it counts whenever it arrives). A campaign of fewer than two is no campaign; it is
  kept (with its lone member's placement) rather than dissolved, which gives what analysis gives since
  analysis never names a campaign again once it dissolved or merged it.
- The representative is the member received first (one not received yet comes last); it is kept as
  members join. When it leaves, the survivor is marked for an election (:meth:`CampaignBook.elections`)
  that the holder of the members answers (a query in the store, a scan in memory).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aireg_events.catalogue import DomainEvent
from aireg_events.catalogue.analysis import ProposalReleasedFromCampaign, ProposalTriaged
from aireg_events.catalogue.submission import ProposalSubmitted, ProposalWithdrawn

_LAST = datetime.max.replace(tzinfo=UTC)

Rank = tuple[datetime, str]


def rank(received_at: datetime | None, proposal_id: str) -> Rank:
    """A member's order for the representative: the member received first represents its campaign (one
    not received yet comes last; the id breaks ties). The one statement of that rule."""
    return (received_at or _LAST, proposal_id)


def first_received(members: Iterable[tuple[datetime | None, str]]) -> str | None:
    """The representative among ``members`` (received at, proposal id): the one received first."""
    ranks = [rank(received_at, proposal_id) for received_at, proposal_id in members]
    return min(ranks)[1] if ranks else None


@dataclass
class Placement:
    """Where the latest analysis decisions put one proposal, and the facts of its own that count."""

    proposal_id: str
    consultation_id: str
    campaign_id: str | None = None
    """The campaign the latest decision put it in (it may have been merged since: see :meth:`find`)."""
    placed_at: int = 0
    """The analysis log position of that decision (0: none)."""
    duplicate_of: str | None = None
    duplicate_at: int = 0
    withdrawn: bool = False
    received_at: datetime | None = None

    @property
    def rank(self) -> Rank:
        return rank(self.received_at, self.proposal_id)


@dataclass
class Campaign:
    """A campaign as the book folds it; ``parent`` is itself while it survives."""

    consultation_id: str
    campaign_id: str
    parent: str
    members: int = 0
    """On a survivor: its proposals not withdrawn, with those of every campaign merged into it."""
    representative: str | None = None
    representative_received_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.members >= 2

    @property
    def representative_rank(self) -> Rank | None:
        if self.representative is None:
            return None
        return rank(self.representative_received_at, self.representative)


@dataclass(frozen=True)
class GroupFacts:
    """A proposal's place among the others: its campaign (and who stands for it), its original."""

    campaign_id: str | None = None
    campaign_representative: str | None = None
    exact_duplicate_of: str | None = None


CampaignKey = tuple[str, str]
"""(consultation id, campaign id): analysis names campaigns per consultation."""


@dataclass
class CampaignBook:
    """The placements and campaigns it holds (all of a consultation, or what the store loaded for a
    batch of events), the rows changed since :meth:`take_changes`, and the proposals whose campaign,
    representative or original may have changed (:attr:`affected`)."""

    placements: dict[str, Placement] = field(default_factory=dict)
    campaigns: dict[CampaignKey, Campaign] = field(default_factory=dict)
    changed_placements: set[str] = field(default_factory=set)
    changed_campaigns: set[CampaignKey] = field(default_factory=set)
    merges: list[tuple[CampaignKey, str]] = field(default_factory=list)
    """(merged campaign, survivor) in the order decided: the store re-points the campaigns it did not load."""
    elect: set[CampaignKey] = field(default_factory=set)
    affected: set[str] = field(default_factory=set)
    _before: dict[CampaignKey, str | None] = field(default_factory=dict)

    # --- what a proposal is -------------------------------------------------------------------------

    def facts(self, proposal_id: str) -> GroupFacts:
        placement = self.placements.get(proposal_id)
        if placement is None:
            return GroupFacts()
        campaign = self.campaign_of(placement)
        return GroupFacts(
            campaign_id=campaign.campaign_id if campaign is not None else None,
            campaign_representative=campaign.representative if campaign is not None else None,
            exact_duplicate_of=placement.duplicate_of,
        )

    def campaign_of(self, placement: Placement) -> Campaign | None:
        """Its surviving campaign if it is in one of two members or more (and not withdrawn)."""
        if placement.campaign_id is None or placement.withdrawn:
            return None
        consultation_id = placement.consultation_id
        named = self.campaigns[(consultation_id, placement.campaign_id)]  # held with its placement
        survivor = self.campaigns[(consultation_id, named.parent)]
        return survivor if survivor.is_active else None

    def find(self, consultation_id: str, campaign_id: str) -> CampaignKey:
        """The survivor of a campaign (itself unless merged)."""
        campaign = self._campaign(consultation_id, campaign_id)
        return (consultation_id, campaign.parent)

    # --- what analysis and the submitter decide -------------------------------------------------------

    def place(self, consultation_id: str, proposal_id: str, campaign_id: str | None, at: int) -> None:
        """Analysis's decision at log position ``at`` puts the proposal in ``campaign_id`` (None: none)."""
        placement = self._placement(consultation_id, proposal_id)
        if campaign_id is not None:
            self._campaign(consultation_id, campaign_id)  # named, whether or not a later decision stands
        if at < placement.placed_at or (at == placement.placed_at and campaign_id == placement.campaign_id):
            return  # an older decision delivered late: the later one stands
        if not placement.withdrawn and placement.campaign_id is not None:
            self._leave(self.find(consultation_id, placement.campaign_id), placement)
        placement.campaign_id, placement.placed_at = campaign_id, at
        if not placement.withdrawn and campaign_id is not None:
            self._join(self.find(consultation_id, campaign_id), placement)
        self._changed(placement)

    def merge(self, consultation_id: str, merged: str, into: str) -> None:
        """Every member of ``merged`` now belongs to ``into`` (a union: no member is moved)."""
        absorbed, survivor = self.find(consultation_id, merged), self.find(consultation_id, into)
        if absorbed == survivor:
            return
        self._touch(absorbed)
        self._touch(survivor)
        gone, kept = self.campaigns[absorbed], self.campaigns[survivor]
        for campaign in self.campaigns.values():
            if campaign.consultation_id == consultation_id and campaign.parent == gone.campaign_id:
                campaign.parent = kept.campaign_id
                self.changed_campaigns.add((consultation_id, campaign.campaign_id))
        self.merges.append((absorbed, kept.campaign_id))
        kept.members += gone.members
        gone.members = 0
        if absorbed in self.elect or survivor in self.elect:
            self.elect.discard(absorbed)
            self._call_election(survivor)
        elif gone.representative_rank is not None and (
            kept.representative_rank is None or gone.representative_rank < kept.representative_rank
        ):
            kept.representative = gone.representative
            kept.representative_received_at = gone.representative_received_at
        gone.representative = gone.representative_received_at = None
        self.changed_campaigns.update((absorbed, survivor))

    def set_duplicate(self, consultation_id: str, proposal_id: str, original: str | None, at: int) -> None:
        placement = self._placement(consultation_id, proposal_id)
        if at < placement.duplicate_at:
            return
        if placement.duplicate_of != original:
            self.affected.add(proposal_id)
        placement.duplicate_of, placement.duplicate_at = original, at
        self.changed_placements.add(proposal_id)

    def withdraw(self, consultation_id: str, proposal_id: str) -> None:
        placement = self._placement(consultation_id, proposal_id)
        if placement.withdrawn:
            return
        if placement.campaign_id is not None:
            self._leave(self.find(consultation_id, placement.campaign_id), placement)
        placement.withdrawn = True
        self._changed(placement)

    def receive(self, consultation_id: str, proposal_id: str, received_at: datetime) -> None:
        """Its submission arrived: when it was received decides whether it represents its campaign."""
        placement = self._placement(consultation_id, proposal_id)
        if placement.received_at == received_at:
            return
        placement.received_at = received_at
        self._changed(placement)
        if placement.campaign_id is None or placement.withdrawn:
            return
        key = self.find(consultation_id, placement.campaign_id)
        campaign = self.campaigns[key]
        self._touch(key)
        if campaign.representative == proposal_id:
            campaign.representative_received_at = received_at
        elif key not in self.elect:
            self._offer(campaign, placement)
        self.changed_campaigns.add(key)

    # --- the representatives that left, answered by the holder of the members -------------------------

    def elections(self) -> list[CampaignKey]:
        return sorted(self.elect)

    def elected(self, key: CampaignKey, representative: Placement | None) -> None:
        campaign = self.campaigns[key]
        campaign.representative = representative.proposal_id if representative is not None else None
        campaign.representative_received_at = representative.received_at if representative else None
        self.elect.discard(key)
        self.changed_campaigns.add(key)

    def settle(self) -> set[str]:
        """After the elections: every proposal whose facts may have changed (the placed, withdrawn or
        received ones, those named as duplicates, and each touched campaign's representatives before
        and after: only they change whether they stand for their campaign)."""
        assert not self.elect, "elections pending"
        for key, before in self._before.items():
            if before is not None:
                self.affected.add(before)
            survivor = self.campaigns[(key[0], self.campaigns[key].parent)]
            if survivor.representative is not None:
                self.affected.add(survivor.representative)
        self._before.clear()
        affected, self.affected = self.affected, set()
        return affected

    def take_changes(self) -> tuple[list[Placement], list[Campaign], list[tuple[CampaignKey, str]]]:
        placements = [self.placements[key] for key in sorted(self.changed_placements)]
        campaigns = [self.campaigns[key] for key in sorted(self.changed_campaigns)]
        merges = list(self.merges)
        self.changed_placements.clear()
        self.changed_campaigns.clear()
        self.merges.clear()
        return placements, campaigns, merges

    # --- inside ---------------------------------------------------------------------------------------

    def _placement(self, consultation_id: str, proposal_id: str) -> Placement:
        placement = self.placements.get(proposal_id)
        if placement is None:
            placement = self.placements[proposal_id] = Placement(proposal_id, consultation_id)
            self.changed_placements.add(proposal_id)
        return placement

    def _campaign(self, consultation_id: str, campaign_id: str) -> Campaign:
        key = (consultation_id, campaign_id)
        campaign = self.campaigns.get(key)
        if campaign is None:
            campaign = self.campaigns[key] = Campaign(consultation_id, campaign_id, campaign_id)
            self.changed_campaigns.add(key)
        return campaign

    def _changed(self, placement: Placement) -> None:
        self.changed_placements.add(placement.proposal_id)
        self.affected.add(placement.proposal_id)

    def _touch(self, key: CampaignKey) -> None:
        if key not in self._before:
            self._before[key] = self.campaigns[key].representative

    def _join(self, key: CampaignKey, placement: Placement) -> None:
        self._touch(key)
        campaign = self.campaigns[key]
        campaign.members += 1
        if key not in self.elect:
            self._offer(campaign, placement)
        self.changed_campaigns.add(key)

    def _leave(self, key: CampaignKey, placement: Placement) -> None:
        self._touch(key)
        campaign = self.campaigns[key]
        campaign.members -= 1
        if campaign.representative == placement.proposal_id:
            self._call_election(key)
        self.changed_campaigns.add(key)

    def _call_election(self, key: CampaignKey) -> None:
        campaign = self.campaigns[key]
        campaign.representative = campaign.representative_received_at = None
        self.elect.add(key)

    @staticmethod
    def _offer(campaign: Campaign, placement: Placement) -> None:
        rank = campaign.representative_rank
        if rank is None or placement.rank < rank:
            campaign.representative = placement.proposal_id
            campaign.representative_received_at = placement.received_at


def first_placed(placements: Iterable[Placement]) -> Placement | None:
    """The representative among members' placements: the one received first."""
    return min(placements, key=lambda placement: placement.rank, default=None)


def hold_elections_in_memory(book: CampaignBook) -> None:
    """Answer the book's elections from the placements it holds (a whole consultation)."""
    for key in book.elections():
        consultation_id = key[0]
        members = [
            placement
            for placement in book.placements.values()
            if placement.consultation_id == consultation_id
            and placement.campaign_id is not None
            and not placement.withdrawn
            and book.find(consultation_id, placement.campaign_id) == key
        ]
        book.elected(key, first_placed(members))


def fold_decision(book: CampaignBook, event: DomainEvent, log_position: int) -> None:
    """What an event changes in the book: analysis's triages and releases at their log position, the
    submitter's submission (when it was received) and withdrawal (it leaves its campaign)."""
    if isinstance(event, ProposalTriaged):
        consultation_id, subject = event.consultation_id, event.proposal_id
        if event.campaign_id is not None:
            for merged in event.merged_campaigns:
                book.merge(consultation_id, merged, event.campaign_id)
        book.place(consultation_id, subject, event.campaign_id, log_position)
        if event.campaign_id is not None:
            for proposal_id in event.grouped_with:
                book.place(consultation_id, proposal_id, event.campaign_id, log_position)
        book.set_duplicate(consultation_id, subject, event.exact_duplicate_of, log_position)
        for duplicate in event.exact_duplicates:
            book.set_duplicate(consultation_id, duplicate, subject, log_position)
    elif isinstance(event, ProposalReleasedFromCampaign):
        book.place(event.consultation_id, event.proposal_id, None, log_position)
    elif isinstance(event, ProposalSubmitted):
        book.receive(event.consultation_id, event.proposal_id, event.received_at)
    elif isinstance(event, ProposalWithdrawn):
        book.withdraw(event.consultation_id, event.proposal_id)


def decides_grouping(event: DomainEvent) -> bool:
    return isinstance(
        event, (ProposalTriaged, ProposalReleasedFromCampaign, ProposalSubmitted, ProposalWithdrawn)
    )


def named_by(event: DomainEvent) -> tuple[set[str], set[str]]:
    """The proposals and campaigns whose rows :func:`fold_decision` reads for the event (the store loads
    them, and the campaigns the proposals are placed in, before the book applies it)."""
    if isinstance(event, ProposalTriaged):
        campaigns = {*event.merged_campaigns, *([event.campaign_id] if event.campaign_id else [])}
        return {event.proposal_id, *event.grouped_with, *event.exact_duplicates}, campaigns
    if isinstance(event, (ProposalReleasedFromCampaign, ProposalSubmitted, ProposalWithdrawn)):
        return {event.proposal_id}, set()
    return set(), set()
