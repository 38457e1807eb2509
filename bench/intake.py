"""Intake benchmark: accepted (durably logged) ``POST /v1/consultations/{id}/proposals`` per second and
p50/p99 latency, one submission process on SQLite and on PostgreSQL, against a bare FastAPI endpoint
that validates the same body and stores nothing, all in the same run.

    uv run python -m bench.intake                     # both databases, about 4 minutes
    uv run python -m bench.intake --backends sqlite --seconds 10

For each target: wrk (closed loop, ``--connections`` connections, every request with its own
Idempotency-Key, from 50 portals in turn) for ``--seconds`` after a warm-up gives the maximum rate; then
an open-loop generator sends at 80 % of the submission service's maximum for ``--seconds`` and gives
p50/p99, measured from when each request was due (the bare endpoint at the same rate).
Targets (issue 9): intake >= 0.5 x the bare endpoint's throughput; p99 < 50 ms at 80 % of the maximum.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from dataclasses import dataclass

import httpx
import orjson

from aireg_cli.stack import free_port
from bench.harness import Bench, header, open_consultation, postgres_available, proposal_body, wait_until
from bench.load import Client, OpenLoopResult, WrkResult, open_loop, run_wrk, write_wrk_script

PORTAL = "bench-portal"
PORTALS = 50
"""Requests come from this many portals (tokens) in turn: the rate limit is per token (issue 8)."""


@dataclass
class Figures:
    name: str
    peak: WrkResult
    steady: OpenLoopResult
    log_events: int | None = None

    def line(self) -> str:
        return (
            f"{self.name:<22} max {self.peak.accepted_per_second:>7,.0f}/s "
            f"(wrk p50 {self.peak.p50_ms:5.1f} ms, p99 {self.peak.p99_ms:6.1f} ms, "
            f"{self.peak.non_2xx} non-2xx, {self.peak.socket_errors} socket errors)   "
            f"at {self.steady.rate:,.0f}/s: p50 {self.steady.p(0.50):5.1f} ms, p99 {self.steady.p(0.99):6.1f} ms "
            f"({len(self.steady.with_status(201)):,} x 201 of {len(self.steady.sent):,}{self.others()})"
        )

    def others(self) -> str:
        """What the steady phase got besides 201s: statuses and client-side errors, if any."""
        counts = {
            f"{status}": count for status, count in self.steady.statuses().items() if status not in (0, 201)
        }
        counts.update(self.steady.errors())
        return "".join(f", {count:,} x {what}" for what, count in sorted(counts.items()))


def measure(
    bench: Bench,
    name: str,
    base_url: str,
    path: str,
    tokens: list[str],
    arguments: argparse.Namespace,
    steady_rate: float | None = None,
) -> Figures:
    """wrk's maximum, then the open loop at ``steady_rate`` (default: 80 % of that maximum)."""
    rng = random.Random(name)
    bodies = [orjson.dumps(proposal_body(rng, index)) for index in range(200)]
    url = base_url + path
    warm = write_wrk_script(bench.folder, bodies, f"{name}-warm", tokens)
    run_wrk(url, script=warm, seconds=arguments.warmup, connections=arguments.connections)
    script = write_wrk_script(bench.folder, bodies, f"{name}-peak", tokens)
    peak = run_wrk(url, script=script, seconds=arguments.seconds, connections=arguments.connections)
    rate = steady_rate or max(1.0, peak.accepted_per_second * 0.8)
    steady = asyncio.run(_steady(base_url, path, tokens, bodies, rate, arguments.seconds, name))
    return Figures(name, peak, steady)


async def _steady(
    base_url: str, path: str, tokens: list[str], bodies: list[bytes], rate: float, seconds: float, run: str
) -> OpenLoopResult:
    client = Client(base_url)
    stamp = f"{run}-steady-{time.time_ns()}"
    try:
        return await open_loop(
            client,
            rate=rate,
            seconds=seconds,
            request=lambda index: (
                "POST",
                path,
                bodies[index % len(bodies)],
                {
                    "Idempotency-Key": f"{stamp}-{index}",
                    "Authorization": f"Bearer {tokens[index % len(tokens)]}",
                },
            ),
        )
    finally:
        client.close()


def intake(bench: Bench, backend: str, arguments: argparse.Namespace) -> Figures:
    service = bench.service("submission", bench.database(backend, f"intake_{backend}")).start()
    try:
        consultation = open_consultation(service, bench.token("admin", "bench-admin"), f"INTAKE-{backend}")
        tokens = [bench.token("portal", f"{PORTAL}-{index}") for index in range(PORTALS)]
        figures = measure(
            bench,
            f"submission/{backend}",
            service.url,
            f"/v1/consultations/{consultation}/proposals",
            tokens,
            arguments,
        )
        figures.log_events = int(service.health().get("log_position", 0))
        return figures
    finally:
        service.stop()


def bare(bench: Bench, arguments: argparse.Namespace, steady_rate: float) -> Figures:
    """The bare endpoint: its maximum, and its latency at ``steady_rate`` (the submission service's 80 %:
    at its own 80 % the open-loop generator, Python on the same two cores, could not keep up)."""
    port = free_port()
    bench.helper(sys.executable, "-m", "bench.bare_endpoint", "--port", str(port), log_name="bare.log")
    base_url = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200, "bare endpoint")
    path = "/v1/consultations/c/proposals"
    return measure(bench, "bare endpoint", base_url, path, ["none"], arguments, steady_rate)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    arguments = parser.parse_args()
    backends = [name for name in arguments.backends.split(",") if name]
    if "postgresql" in backends and not postgres_available():
        print("PostgreSQL is not reachable (AIREG_BENCH_POSTGRES_URL): measuring SQLite only")
        backends.remove("postgresql")
    header("intake")
    with Bench() as bench:
        results = []
        for backend in backends:
            figures = intake(bench, backend, arguments)
            results.append(figures)
            print("figure    " + figures.line(), flush=True)
            print(f"          ({figures.log_events:,} events in the submission log)", flush=True)
        baseline = bare(bench, arguments, min(figures.steady.rate for figures in results))
        print("baseline  " + baseline.line(), flush=True)
        for figures in results:
            ratio = figures.peak.accepted_per_second / baseline.peak.accepted_per_second
            print(
                f"ratio     {figures.name} / bare: {ratio:.2f} (target >= 0.50); "
                f"p99 at 80 % of max: {figures.steady.p(0.99):.1f} ms (target < 50 ms)"
            )


if __name__ == "__main__":
    main()
