"""Triage through the real broker, on SQLite and PostgreSQL: submitted proposals reach the queue triaged;
form letters of a mass campaign come out as one campaign; exact duplicates are marked; a lead can take a
proposal out of its campaign; amendments are triaged again and withdrawals leave the queue."""

# ruff: noqa: RUF001 (Russian words made only of letters that look Latin)

from __future__ import annotations

import random

import pytest

from aireg_events.catalogue import CATALOGUE
from aireg_events.catalogue.analysis import ProposalTriaged
from aireg_events.envelope import Actor
from services.analysis.tests.harness import AnalysisUnderTest, read_topic
from services.analysis.tests.proposals import content
from services.analysis.tests.texts import (
    FORM_LETTER,
    RUSSIAN_DISTINCT,
    distinct_text,
    form_letter_copy,
    russian_letter_copy,
)
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(autouse=True)
def _clock_reset(analysis: AnalysisUnderTest) -> None:
    analysis.clock.reset()


async def test_thirty_copies_of_a_form_letter_among_two_hundred_distinct_proposals_form_one_campaign_of_thirty(
    analysis: AnalysisUnderTest,
) -> None:
    rng = random.Random(2027)
    bodies = [("distinct", content(distinct_text(rng))) for _ in range(200)]
    bodies += [("copy", content(form_letter_copy(rng), title="Protect people from AI")) for _ in range(30)]
    rng.shuffle(bodies)
    consultation = await analysis.submission.open_consultation()
    ids = await analysis.submission.submit(consultation, *(body for _, body in bodies))
    copies = [proposal_id for proposal_id, (kind, _) in zip(ids, bodies, strict=True) if kind == "copy"]

    queue = await analysis.until_triaged(consultation, 230)

    (campaign,) = await analysis.campaigns(consultation)
    assert campaign["size"] == 30
    assert set(campaign["members"]) == set(copies)
    assert campaign["representative_id"] == copies[0], "the copy received first represents the campaign"
    assert campaign["method"]["name"] == "minhash_lsh_char_shingles"
    grouped = {item["proposal_id"]: item["campaign"] for item in queue}
    assert all(grouped[proposal_id]["campaign_id"] == campaign["campaign_id"] for proposal_id in copies)
    assert [pid for pid, membership in grouped.items() if membership and pid not in copies] == []
    assert all(item["status"] == "triaged" and item["complete"] for item in queue)
    assert [item["proposal_id"] for item in queue] == ids, "the queue lists proposals in the order received"

    triaged = {
        event["payload"]["proposal_id"]: event for event in await analysis.own_events("ProposalTriaged")
    }
    assert set(triaged) == set(ids)
    submitted = {
        envelope.stream_id: envelope
        for envelope in await read_topic(analysis.bootstrap, analysis.settings.topics.submission)
    }
    for proposal_id in ids:
        event = triaged[proposal_id]
        assert event["causation_id"] == submitted[proposal_id].event_id
        assert event["actor"] == {"role": "system", "name": "triage", "organization": None}
        parameters = event["payload"]["method"]["parameters"]
        assert (parameters["threshold"], parameters["long_threshold"]) == (0.38, 0.66)
        assert (parameters["num_perm"], parameters["shingle_size"], parameters["shingle_unit"]) == (
            128,
            7,
            "characters",
        )
        similar = [entry["proposal_id"] for entry in event["payload"]["similar"]]
        if proposal_id in copies:
            assert set(similar) <= set(copies)
            assert all(0.38 <= entry["similarity"] <= 1.0 for entry in event["payload"]["similar"])
        else:
            assert similar == []
    # Partitions do not keep the order received: whichever copy triage saw first resembled nothing yet.
    assert sum(1 for proposal_id in copies if triaged[proposal_id]["payload"]["similar"]) == 29


async def test_twelve_short_russian_letters_with_three_words_changed_form_one_campaign_and_nothing_else(
    analysis: AnalysisUnderTest,
) -> None:
    rng = random.Random(39)
    greetings = ["", "Здравствуйте!", "Добрый день."]
    signatures = ["", "С уважением, Иван Петров, Казань.", "Мария Смирнова, Томск"]
    letters = [
        " ".join(
            part for part in (rng.choice(greetings), russian_letter_copy(rng), rng.choice(signatures)) if part
        )
        for _ in range(12)
    ]
    bodies = [("letter", content(letter, title="Единый закон об ИИ")) for letter in letters]
    bodies += [("distinct", content(text, title="Наше предложение")) for text in RUSSIAN_DISTINCT]
    bodies += [("distinct", content(distinct_text(rng))) for _ in range(20)]
    rng.shuffle(bodies)
    consultation = await analysis.submission.open_consultation()
    ids = await analysis.submission.submit(consultation, *(body for _, body in bodies))
    copies = {proposal_id for proposal_id, (kind, _) in zip(ids, bodies, strict=True) if kind == "letter"}

    await analysis.until_triaged(consultation, len(bodies))

    (campaign,) = await analysis.campaigns(consultation)
    assert set(campaign["members"]) == copies
    assert campaign["method"]["name"] == "minhash_lsh_char_shingles"


async def test_an_exact_duplicate_points_to_the_proposal_received_first_even_when_triaged_first(
    analysis: AnalysisUnderTest,
) -> None:
    consultation = await analysis.submission.open_consultation()
    original = analysis.submission.submitted(consultation, content(FORM_LETTER))
    copy = analysis.submission.submitted(consultation, content(FORM_LETTER.upper().replace(".", " !")))
    portal = Actor(role="portal", name="portal-a")
    await analysis.submission.publish((copy, portal))  # the broker delivers the later one first
    await analysis.until_triaged(consultation, 1)
    await analysis.submission.publish((original, portal))

    queue = {item["proposal_id"]: item for item in await analysis.until_triaged(consultation, 2)}
    assert queue[original.proposal_id]["exact_duplicate_of"] is None
    assert queue[copy.proposal_id]["exact_duplicate_of"] == original.proposal_id
    assert queue[copy.proposal_id]["campaign"]["representative_id"] == original.proposal_id
    assert (await analysis.proposal(copy.proposal_id))["similar"] == [
        {"proposal_id": original.proposal_id, "similarity": 1.0}
    ]
    (event,) = [
        e for e in await analysis.own_events("ProposalTriaged") if e["stream_id"] == original.proposal_id
    ]
    assert event["payload"]["exact_duplicates"] == [copy.proposal_id]
    assert event["payload"]["campaign_representative"] == original.proposal_id


async def test_triage_records_what_an_incomplete_proposal_lacks(analysis: AnalysisUnderTest) -> None:
    consultation = await analysis.submission.open_consultation()
    (proposal_id,) = await analysis.submission.submit(
        consultation,
        content("Figures are in the annex.", questions=["training_data"], positions={}),
    )
    (item,) = await analysis.until_triaged(consultation, 1)
    assert item["complete"] is False
    assert item["missing"] == ["position:training_data", "attachments"]
    (event,) = [e for e in await analysis.own_events("ProposalTriaged") if e["stream_id"] == proposal_id]
    assert event["payload"]["missing"] == ["position:training_data", "attachments"]


async def test_a_lead_takes_a_proposal_out_of_its_campaign_and_it_is_not_grouped_again(
    analysis: AnalysisUnderTest,
) -> None:
    rng = random.Random(5)
    consultation = await analysis.submission.open_consultation()
    first, second, third = await analysis.submission.submit(
        consultation, *(content(form_letter_copy(rng)) for _ in range(3))
    )
    await analysis.until_triaged(consultation, 3)
    (campaign,) = await analysis.campaigns(consultation)
    assert campaign["representative_id"] == first and campaign["size"] == 3

    release = {"reason": "Its own arguments, beyond the form letter"}
    refused = await analysis.client.post(
        f"/v1/proposals/{first}/campaign-release", json=release, headers=analysis.reviewer("ivanova")
    )
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden_role"
    response = await analysis.client.post(
        f"/v1/proposals/{first}/campaign-release", json=release, headers=analysis.lead
    )
    assert response.status_code == 200, response.text
    assert response.json()["campaign"] is None and response.json()["released_from_campaign"] is True
    (campaign,) = await analysis.campaigns(consultation)
    assert campaign["size"] == 2 and campaign["representative_id"] == second
    (released,) = [
        e for e in await analysis.own_events("ProposalReleasedFromCampaign") if e["stream_id"] == first
    ]
    assert released["payload"]["campaign_id"] == campaign["campaign_id"]
    assert released["actor"]["role"] == "lead"

    before = await analysis.own_events()
    again = await analysis.client.post(
        f"/v1/proposals/{first}/campaign-release", json=release, headers=analysis.lead
    )
    assert again.status_code == 409 and again.json()["error"] == "proposal_not_in_campaign"
    assert await analysis.own_events() == before, "a refusal records nothing"

    # A later copy joins the campaign, resembles the released one, but does not pull it back in.
    (fourth,) = await analysis.submission.submit(consultation, content(form_letter_copy(rng)))
    await analysis.until_triaged(consultation, 4)
    (campaign,) = await analysis.campaigns(consultation)
    assert set(campaign["members"]) == {second, third, fourth}
    assert first in [entry["proposal_id"] for entry in (await analysis.proposal(fourth))["similar"]]

    # Releasing one of a campaign of two leaves no campaign behind.
    await analysis.client.post(
        f"/v1/proposals/{second}/campaign-release", json=release, headers=analysis.lead
    )
    await analysis.client.post(f"/v1/proposals/{third}/campaign-release", json=release, headers=analysis.lead)
    assert await analysis.campaigns(consultation) == []
    assert (await analysis.proposal(fourth))["campaign"] is None


async def test_an_amended_proposal_is_triaged_again_and_its_earlier_reviews_become_stale(
    analysis: AnalysisUnderTest,
) -> None:
    rng = random.Random(11)
    consultation = await analysis.submission.open_consultation()
    text = distinct_text(rng)
    (proposal_id,) = await analysis.submission.submit(consultation, content(text))
    await analysis.until_triaged(consultation, 1)
    assert (await analysis.assign(proposal_id, "ivanova", "ministry")).status_code == 201
    assert (await analysis.review(proposal_id, "ivanova", "ministry")).status_code == 201

    await analysis.submission.amend(consultation, proposal_id, content(text + " We add a transition period."))
    await eventually(
        lambda: analysis.queue(consultation_id=consultation), until=lambda items: items[0]["version"] == 2
    )

    async def triaged_twice() -> list[dict[str, object]]:
        return [e for e in await analysis.own_events("ProposalTriaged") if e["stream_id"] == proposal_id]

    events = await triaged_twice()
    assert [event["payload"]["proposal_version"] for event in events] == [1, 2]  # type: ignore[index]
    item = (await analysis.queue(consultation_id=consultation))[0]
    assert item["version"] == 2
    assert item["reviews"]["ministry"] == {"current": 0, "stale": 1}
    (stale,) = (await analysis.proposal(proposal_id))["review_list"]
    assert stale["current"] is False and stale["proposal_version"] == 1

    # The stale review does not count: the reviewer reviews the new version.
    assert (await analysis.review(proposal_id, "sidorov", "analytical_center")).json()[
        "error"
    ] == "review_requires_assignment"
    assert (await analysis.assign(proposal_id, "sidorov", "analytical_center")).status_code == 201
    assert (await analysis.review(proposal_id, "sidorov", "analytical_center")).status_code == 201
    refused = await analysis.assess(proposal_id)
    assert refused.status_code == 409 and refused.json()["error"] == "assessment_needs_both_organizations"
    assert refused.json()["missing_organizations"] == ["ministry"]
    again = await analysis.review(proposal_id, "ivanova", "ministry")
    assert again.status_code == 201 and again.json()["proposal_version"] == 2
    assert (await analysis.assess(proposal_id)).status_code == 201


async def test_a_withdrawn_proposal_leaves_the_queue_and_its_campaign_and_takes_no_more_work(
    analysis: AnalysisUnderTest,
) -> None:
    rng = random.Random(13)
    consultation = await analysis.submission.open_consultation()
    kept, withdrawn = await analysis.submission.submit(
        consultation, content(form_letter_copy(rng)), content(form_letter_copy(rng))
    )
    await analysis.until_triaged(consultation, 2)
    assert (await analysis.assign(withdrawn, "ivanova", "ministry")).status_code == 201
    await analysis.submission.withdraw(consultation, withdrawn)

    await analysis.until_triaged(consultation, 1)
    (listed,) = await analysis.queue(consultation_id=consultation, status="withdrawn")
    assert listed["proposal_id"] == withdrawn and listed["campaign"] is None
    assert (await analysis.proposal(kept))["campaign"] is None, "a campaign of one is no campaign"

    before = await analysis.own_events()
    refusals = [
        await analysis.assign(withdrawn, "petrov", "analytical_center"),
        await analysis.review(withdrawn, "ivanova", "ministry"),
        await analysis.assess(withdrawn),
        await analysis.client.post(
            f"/v1/proposals/{withdrawn}/campaign-release", json={"reason": "x"}, headers=analysis.lead
        ),
    ]
    assert [(r.status_code, r.json()["error"]) for r in refusals] == [(409, "proposal_withdrawn")] * 4
    assert await analysis.own_events() == before

    # A later copy is not grouped with the withdrawn one.
    (later,) = await analysis.submission.submit(consultation, content(form_letter_copy(rng)))
    await analysis.until_triaged(consultation, 2)
    similar = [entry["proposal_id"] for entry in (await analysis.proposal(later))["similar"]]
    assert similar == [kept]


async def test_triage_events_reach_the_analysis_topic_in_log_order(analysis: AnalysisUnderTest) -> None:
    consultation = await analysis.submission.open_consultation()
    ids = await analysis.submission.submit(
        consultation, content("First proposal."), content("Second proposal.")
    )
    await analysis.until_triaged(consultation, 2)
    logged = [e["event_id"] for e in await analysis.own_events() if e["stream_id"] in ids]

    async def published() -> list[str]:
        return [
            envelope.event_id
            for envelope in await read_topic(analysis.bootstrap, analysis.settings.topics.analysis)
            if envelope.stream_id in ids
        ]

    assert await eventually(published, until=lambda found: sorted(found) == sorted(logged)) is not None
    for envelope in await read_topic(analysis.bootstrap, analysis.settings.topics.analysis):
        if envelope.stream_id in ids:
            assert envelope.hash_is_valid()
            assert isinstance(CATALOGUE.read(envelope), ProposalTriaged)
