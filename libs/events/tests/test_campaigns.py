"""The house's campaign model: membership, merges as a union, and the representative (the member received
first), as analysis's triage and projection and reporting's book use it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aireg_events.campaigns import CampaignBook, first_received, hold_elections_in_memory

CONSULTATION = "00000000-0000-7000-c000-000000000001"
START = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


def _received(book: CampaignBook, proposal_id: str, minutes: int) -> None:
    book.receive(CONSULTATION, proposal_id, START + timedelta(minutes=minutes))


def test_the_member_received_first_represents_a_campaign_whatever_the_order_of_joining() -> None:
    assert first_received([(START + timedelta(minutes=5), "a"), (START, "b"), (None, "c")]) == "b"
    assert first_received([(None, "c"), (START, "z"), (START, "y")]) == "y"  # the id breaks a tie
    assert first_received([]) is None
    book = CampaignBook()
    for proposal_id, minutes in (("late", 30), ("early", 10), ("middle", 20)):
        _received(book, proposal_id, minutes)
        book.place(CONSULTATION, proposal_id, "campaign-1", at=1)

    assert book.facts("late").campaign_representative == "early"
    assert book.campaigns[(CONSULTATION, "campaign-1")].members == 3


def test_a_merge_is_a_union_and_keeps_the_earlier_representative() -> None:
    book = CampaignBook()
    for proposal_id, campaign_id, minutes in (
        ("a1", "A", 20),
        ("a2", "A", 25),
        ("b1", "B", 5),
        ("b2", "B", 40),
    ):
        _received(book, proposal_id, minutes)
        book.place(CONSULTATION, proposal_id, campaign_id, at=1)

    book.merge(CONSULTATION, "B", into="A")

    assert book.find(CONSULTATION, "B") == (CONSULTATION, "A")
    assert book.campaigns[(CONSULTATION, "A")].members == 4
    assert {book.facts(p).campaign_id for p in ("a1", "a2", "b1", "b2")} == {"A"}
    assert book.facts("a1").campaign_representative == "b1"
    assert [merged for merged, _survivor in book.take_changes()[2]] == [(CONSULTATION, "B")]


def test_when_the_representative_leaves_the_next_received_is_elected_and_one_member_is_no_campaign() -> None:
    book = CampaignBook()
    for proposal_id, minutes in (("first", 1), ("second", 2), ("third", 3)):
        _received(book, proposal_id, minutes)
        book.place(CONSULTATION, proposal_id, "C", at=1)

    book.place(CONSULTATION, "first", None, at=2)  # released from its campaign
    assert book.elections() == [(CONSULTATION, "C")]
    hold_elections_in_memory(book)
    assert book.facts("third").campaign_representative == "second"

    book.withdraw(CONSULTATION, "second")
    hold_elections_in_memory(book)
    assert book.facts("third").campaign_id is None  # a campaign of one is none
