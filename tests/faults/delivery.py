"""After a fault: wait until the system is quiet, then count, store by store, that every accepted
submission is there exactly once and that every log and inbox is gap-free and free of repeats.

What is read: each producer's feed (its log, as an auditor sees it), and the rows of each service's own
database (analysis and reporting state, and every inbox)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.faults.load import Figures, SubmissionLoad
from tests.support.system import System


@dataclass
class Snapshot:
    submission_log: list[dict[str, Any]]
    analysis_log: list[dict[str, Any]]
    analysis_proposals: Counter[str]
    analysis_inbox: list[tuple[str, int, str]]
    reporting_proposals: Counter[str]
    reporting_inbox: list[tuple[str, int, str]]
    reporting_received: Counter[str]
    submission_inbox: list[tuple[str, int, str]]

    def heads(self) -> tuple[int, int]:
        return len(self.submission_log), len(self.analysis_log)

    def settled(self, proposal_ids: set[str]) -> bool:
        """Every accepted proposal triaged, and every event of both logs applied where it is consumed."""
        submission_head, analysis_head = self.heads()
        triaged = {event["payload"]["proposal_id"] for event in self.triages()}
        status_events = {event["event_id"] for event in self.triages()}
        return (
            proposal_ids <= set(self.analysis_proposals)
            and proposal_ids <= triaged
            and proposal_ids <= set(self.reporting_proposals)
            and _positions(self.analysis_inbox, "submission") >= set(range(1, submission_head + 1))
            and _positions(self.reporting_inbox, "submission") >= set(range(1, submission_head + 1))
            and _positions(self.reporting_inbox, "analysis") >= set(range(1, analysis_head + 1))
            and status_events <= {event_id for _, _, event_id in self.submission_inbox}
        )

    def triages(self) -> list[dict[str, Any]]:
        return [event for event in self.analysis_log if event["event_type"] == "ProposalTriaged"]


def _positions(inbox: list[tuple[str, int, str]], producer: str) -> set[int]:
    return {position for source, position, _ in inbox if source == producer}


def _repeats(counts: Counter[Any]) -> int:
    return sum(count - 1 for count in counts.values() if count > 1)


async def snapshot(system: System) -> Snapshot:
    inbox = "SELECT producer, log_position, event_id FROM inbox"
    submission_log, analysis_log = await asyncio.gather(system.feed("submission"), system.feed("analysis"))
    analysis_proposals = await system.rows("analysis", "SELECT proposal_id FROM proposal")
    reporting_proposals = await system.rows("reporting", "SELECT proposal_id FROM proposal")
    received = await system.rows("reporting", "SELECT event_id FROM received_event")
    return Snapshot(
        submission_log=submission_log,
        analysis_log=analysis_log,
        analysis_proposals=Counter(row[0] for row in analysis_proposals),
        analysis_inbox=[(str(a), int(b), str(c)) for a, b, c in await system.rows("analysis", inbox)],
        reporting_proposals=Counter(row[0] for row in reporting_proposals),
        reporting_inbox=[(str(a), int(b), str(c)) for a, b, c in await system.rows("reporting", inbox)],
        reporting_received=Counter(row[0] for row in received),
        submission_inbox=[(str(a), int(b), str(c)) for a, b, c in await system.rows("submission", inbox)],
    )


async def settle(system: System, proposal_ids: set[str], timeout: float = 150.0) -> Snapshot:
    """The snapshot once everything accepted has reached every store (or the last one, at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        state = await snapshot(system)
        if state.settled(proposal_ids) or time.monotonic() > deadline:
            return state
        await asyncio.sleep(1.0)


async def count_deliveries(
    system: System, load: SubmissionLoad, test: str, *, timeout: float = 150.0
) -> tuple[Figures, list[str]]:
    """The figures of ``load`` after the system settled, and every breach of exactly-once found."""
    figures = load.figures(test)
    answers = load.accepted
    accepted_ids = {answer["proposal_id"] for answer in answers.values()}
    state = await settle(system, accepted_ids, timeout)
    problems: list[str] = []

    # The submission log: gap-free positions; one ProposalSubmitted per accepted submission, and its
    # registration numbers gap-free from 1 in the load's consultation.
    for name, log in (("submission", state.submission_log), ("analysis", state.analysis_log)):
        positions = [event["log_position"] for event in log]
        if positions != list(range(1, len(log) + 1)):
            problems.append(f"{name} log positions are not 1..{len(log)}: {positions[:20]}...")
    submitted = [
        event
        for event in state.submission_log
        if event["event_type"] == "ProposalSubmitted"
        and event["payload"]["consultation_id"] == load.consultation_id
    ]
    submitted_ids = Counter(event["payload"]["proposal_id"] for event in submitted)
    numbers = sorted(event["payload"]["registration_number"] for event in submitted)
    if numbers:  # AIREG-<year>-<series><5 digits>: the consultation's series, counted from 1
        prefix = numbers[0][:-5]
        expected = [f"{prefix}{number:05d}" for number in range(1, len(numbers) + 1)]
        if numbers != expected:
            problems.append(f"registration numbers are not gap-free: {numbers[:5]}..{numbers[-5:]}")
    unconfirmed = set(submitted_ids) - accepted_ids
    if unconfirmed:
        problems.append(f"{len(unconfirmed)} proposals recorded that no 201 answered")
    for key, answer in answers.items():
        recorded = [e for e in submitted if e["payload"]["proposal_id"] == answer["proposal_id"]]
        if (
            len(recorded) != 1
            or recorded[0]["payload"]["registration_number"] != answer["registration_number"]
        ):
            problems.append(
                f"{key}: answered {answer['registration_number']}, recorded {len(recorded)} times"
            )

    # Downstream: every accepted proposal in analysis and reporting, each event applied once everywhere.
    triaged = Counter(
        (event["payload"]["proposal_id"], event["payload"]["proposal_version"]) for event in state.triages()
    )
    duplicates = {
        "submission: ProposalSubmitted": _repeats(submitted_ids),
        "analysis: proposal rows": _repeats(state.analysis_proposals),
        "analysis: ProposalTriaged per version": _repeats(triaged),
        "analysis: inbox (producer, position)": _repeats(Counter((p, n) for p, n, _ in state.analysis_inbox)),
        "reporting: proposal rows": _repeats(state.reporting_proposals),
        "reporting: received events": _repeats(state.reporting_received),
        "reporting: inbox (producer, position)": _repeats(
            Counter((p, n) for p, n, _ in state.reporting_inbox)
        ),
        "submission: inbox (producer, position)": _repeats(
            Counter((p, n) for p, n, _ in state.submission_inbox)
        ),
    }
    for where, count in duplicates.items():
        if count:
            problems.append(f"{count} duplicates in {where}")
    submission_head, analysis_head = state.heads()
    gaps = {
        "analysis inbox of the submission log": set(range(1, submission_head + 1))
        - _positions(state.analysis_inbox, "submission"),
        "reporting inbox of the submission log": set(range(1, submission_head + 1))
        - _positions(state.reporting_inbox, "submission"),
        "reporting inbox of the analysis log": set(range(1, analysis_head + 1))
        - _positions(state.reporting_inbox, "analysis"),
    }
    for where, missing in gaps.items():
        if missing:
            problems.append(f"{len(missing)} events missing from the {where}: {sorted(missing)[:10]}")
    status_events = {event["event_id"] for event in state.triages()}
    missing_status = status_events - {event_id for _, _, event_id in state.submission_inbox}
    if missing_status:
        problems.append(f"{len(missing_status)} ProposalTriaged never reached the submission service")

    delivered = {
        proposal_id
        for proposal_id in accepted_ids
        if proposal_id in state.analysis_proposals
        and proposal_id in state.reporting_proposals
        and any(proposal_id == pid for pid, _ in triaged)
    }
    figures.delivered = len(delivered)
    figures.lost = len(accepted_ids - delivered) + len(load.failed)
    figures.duplicates = sum(duplicates.values())
    figures.extra.update(
        submission_log=submission_head,
        analysis_log=analysis_head,
        never_accepted=len(load.failed),
    )
    problems += system.unhandled_errors()
    if load.failed:
        problems.append(f"{len(load.failed)} submissions never got a 201: {list(load.failed.items())[:3]}")
    return figures, problems
