"""What an event costs reporting as the campaign it joins grows: the same number of proposals, once all
distinct and once all one form letter (one campaign), applied in-process to a real SQLite store through
the projector the consumer calls (``projector.project``, in the consumer's batches of 500, one transaction
each). Prints both rates and their ratio (the target: the campaign at >= 0.8 x the distinct proposals),
the rate of the last tenth against the first (flat costs stay near 1), and ``/v1/stats``' read at the
end (the counters and the campaigns, as the route reads them).

    uv run python -m bench.campaign_cost [--proposals 50000] [--batch 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.canonical import canonical_json_of_decoded
from aireg_events.log.database import open_database
from aireg_events.log.migrations import upgrade_to_head
from aireg_reporting.domain import Received
from aireg_reporting.projector import project
from aireg_reporting.rebuild import MIGRATIONS
from aireg_reporting.statistics import figures
from aireg_reporting.views import statistics_of_consultations
from bench.events import Consultation


def log_of(proposals: int, campaign_id: str | None) -> list[Received]:
    consultation = Consultation(campaign_id=campaign_id, review_share=0.0)
    items = [consultation.opened()]
    for _ in range(proposals):
        submitted = consultation.submitted()
        items += [submitted, *consultation.decisions(submitted)]
    return [Received.parse(canonical_json_of_decoded(envelope)) for envelope in items]


async def apply(url: str, items: list[Received], batch: int) -> tuple[float, float, float, list[float]]:
    """Events per second over the whole log, over its first and last tenths; ``/v1/stats`` reads (s)."""
    database = open_database(url)
    await upgrade_to_head(database, MIGRATIONS)
    tenth = max(len(items) // 10, batch)
    marks: list[tuple[int, float]] = []
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        async with AsyncSession(database.writer) as session, session.begin():
            await project(session, items[start : start + batch], received_at=datetime.now(UTC))
        marks.append((start + batch, time.perf_counter()))
    elapsed = time.perf_counter() - started
    done_first, first_end = next((done, moment) for done, moment in marks if done >= tenth)
    first = first_end - started
    done_before, last_start = [(done, moment) for done, moment in marks if done <= len(items) - tenth][-1]
    last = marks[-1][1] - last_start
    reads = []
    for _ in range(30):
        began = time.perf_counter()
        async with AsyncSession(database.reader) as session:
            deadlines, counts, campaigns = await statistics_of_consultations(session, None)
        figures(counts, deadlines, campaigns, now=datetime.now(UTC))
        reads.append(time.perf_counter() - began)
    await database.dispose()
    return len(items) / elapsed, done_first / first, (len(items) - done_before) / last, reads


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--proposals", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    options = parser.parse_args()
    rates = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, campaign in (("distinct", None), ("campaign", "form-letter")):
            items = log_of(options.proposals, campaign)
            url = f"sqlite+aiosqlite:///{Path(directory) / name}.db"
            rate, first, last, reads = asyncio.run(apply(url, items, options.batch))
            rates[name] = rate
            print(
                f"{name:9} {len(items):>7} events: {rate:8.0f} events/s "
                f"(first tenth {first:.0f}/s, last tenth {last:.0f}/s, last/first {last / first:.2f}); "
                f"/v1/stats read p50 {statistics.median(reads) * 1000:.1f} ms at {options.proposals} proposals"
            )
    print(f"campaign / distinct: {rates['campaign'] / rates['distinct']:.2f} x (target >= 0.8)")


if __name__ == "__main__":
    main()
