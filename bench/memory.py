"""Memory benchmark: each service's resident memory (RSS) with N proposals (100,000) in its store, against
the same process freshly started on an empty store, in the same run.

    uv run python -m bench.memory                           # 100,000 proposals, SQLite, <= ~16 min
    uv run python -m bench.memory --proposals 20000 --backend postgresql

The three services run as processes on one broker. N proposals are submitted over HTTP (64 clients, as
in ``bench/burst.py``); once analysis has triaged every one and reporting has applied every event of
both logs, each service's ``VmRSS`` is read, a dashboard asks reporting for the consultation's
statistics and the RSS is read again (the statistics read the proposals' rows). Every projection is in
the database; nothing is kept only in memory, so the RSS should not grow with N beyond caches.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench.burst import bodies_for, burst
from bench.harness import (
    Bench,
    Stack,
    header,
    open_consultation_everywhere,
    postgres_available,
    rss_mib,
    start_stack,
    wait_until,
)


def applied(stack: Stack) -> tuple[int, int, int]:
    submission = stack.submission.health()
    return (
        int(submission.get("log_position", 0)),
        int(stack.analysis.health().get("events_applied", 0)),
        int(stack.reporting.health().get("events_applied", 0)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--proposals", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--wait", type=float, default=600.0, help="how long to wait for the consumers")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=360.0,
        help="no new submission starts after this (the figure then says how many proposals it is at)",
    )
    arguments = parser.parse_args()
    if arguments.backend == "postgresql" and not postgres_available():
        raise SystemExit("PostgreSQL is not reachable (AIREG_BENCH_POSTGRES_URL)")
    header(f"memory at {arguments.proposals:,} proposals, {arguments.backend}")
    with Bench() as bench:
        stack = start_stack(bench, arguments.backend)
        consultation_id = open_consultation_everywhere(bench, stack, "MEMORY")
        empty = {service.name: rss_mib(service.pid) for service in stack.services}
        tokens = [bench.token("portal", f"memory-portal-{index}") for index in range(arguments.clients)]
        started = time.perf_counter()
        result = asyncio.run(
            burst(
                stack.submission.url,
                f"/v1/consultations/{consultation_id}/proposals",
                tokens,
                bodies_for(min(arguments.proposals, 5000)),
                arguments.proposals,
                arguments.clients,
                arguments.max_seconds,
            )
        )
        proposals = len(result.created)
        print(f"submitted {proposals:,} proposals in {result.seconds:.0f}s", flush=True)
        if proposals < arguments.proposals:
            print(
                f"          (stopped after {arguments.max_seconds:.0f} s: the figures are at {proposals:,})"
            )
        last = [time.monotonic()]

        def caught_up() -> bool:
            log, triaged, reported = applied(stack)
            analysis_log = int(stack.analysis.health().get("log_position", 0))
            if time.monotonic() - last[0] > 60:
                last[0] = time.monotonic()
                print(
                    f"          submission log {log:,}, analysis applied {triaged:,}, reporting applied {reported:,}"
                )
            # analysis applies the submission log; reporting both logs
            return triaged >= log and reported >= log + analysis_log

        try:
            wait_until(caught_up, "analysis and reporting caught up", timeout=arguments.wait, interval=2.0)
        except TimeoutError:  # the memory is still worth reporting; the figure says how far they got
            log, triaged, reported = applied(stack)
            print(
                f"          not caught up after {arguments.wait:.0f} s: analysis applied {triaged:,} of {log:,}, "
                f"reporting {reported:,} of {log + int(stack.analysis.health().get('log_position', 0)):,}"
            )
        else:
            print(
                f"          every event applied {time.perf_counter() - started:.0f}s after the first submission"
            )
        loaded = {service.name: rss_mib(service.pid) for service in stack.services}
        dashboard = {"Authorization": f"Bearer {bench.token('dashboard', 'bench-dashboard')}"}
        httpx.get(
            f"{stack.reporting.url}/v1/stats",
            params={"consultation_id": consultation_id},
            headers=dashboard,
            timeout=300,
        ).raise_for_status()
        after_stats = rss_mib(stack.reporting.pid)
        for service in stack.services:
            print(f"baseline  {service.name:<10} empty store: {empty[service.name]:7.0f} MiB")
        for service in stack.services:
            extra = (
                f" ({after_stats:.0f} MiB after a statistics answer)" if service.name == "reporting" else ""
            )
            print(
                f"figure    {service.name:<10} {proposals:,} proposals: {loaded[service.name]:7.0f} MiB{extra}"
            )
        for service in stack.services:
            print(f"ratio     {service.name:<10} {loaded[service.name] / empty[service.name]:.2f}")


if __name__ == "__main__":
    main()
