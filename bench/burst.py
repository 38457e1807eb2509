"""Burst benchmark: N submissions (75,000) from C concurrent clients (200) as fast as they can; every
request answered (201, or 429/503 with ``Retry-After``, which the client honours and then retries with the
same Idempotency-Key), every 201 durable, none lost, and all of them visible in reporting's statistics
within 45 s of the last 201.

    uv run python -m bench.burst                            # 75,000 from 200 clients, SQLite, <= ~15 min
    uv run python -m bench.burst --submissions 20000 --backend postgresql

The three services run as processes on one broker; each client is a portal with a token of its own and
one keep-alive connection. 429 and 503 count as answered (load shedding, issue 8); a connection error or
a timeout does not. Afterwards the submission service's list of the consultation's proposals must hold
exactly the proposal ids the 201s named (durable, none lost, none twice), and reporting's statistics
must count them all. Baseline: the same clients against the bare endpoint of ``bench/intake.py``
(validation only), in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
import uuid
from dataclasses import dataclass, field

import httpx
import orjson

from aireg_cli.stack import free_port
from bench.harness import (
    Bench,
    header,
    open_consultation_everywhere,
    postgres_available,
    proposal_body,
    start_stack,
    wait_until,
)
from bench.load import Client

SHED = (429, 503)


@dataclass
class Burst:
    seconds: float = 0.0
    created: dict[int, str] = field(default_factory=dict)
    """Index of the submission -> the proposal id its 201 named."""
    answers: dict[int, int] = field(default_factory=dict)
    unanswered: int = 0
    missing_retry_after: int = 0
    last_201: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.answers.values()) + self.unanswered


async def burst(
    base_url: str,
    path: str,
    tokens: list[str],
    bodies: list[bytes],
    total: int,
    clients: int,
    max_seconds: float = float("inf"),
) -> Burst:
    """``total`` submissions spread over ``clients`` closed-loop clients, retrying what was shed; no
    new submission starts after ``max_seconds``."""
    result = Burst()
    deadline = time.perf_counter() + max_seconds
    stamp = uuid.uuid4().hex[:8]
    next_index = iter(range(total))

    async def client(number: int) -> None:
        connection = Client(base_url, {"Authorization": f"Bearer {tokens[number % len(tokens)]}"})
        try:
            for index in next_index:
                if time.perf_counter() > deadline:
                    break
                body = bodies[index % len(bodies)]
                headers = {"Idempotency-Key": f"{stamp}-{index}"}
                while True:
                    try:
                        answer = await asyncio.wait_for(connection.request("POST", path, body, headers), 60)
                    except (OSError, TimeoutError, asyncio.IncompleteReadError):
                        result.unanswered += 1
                        connection.close()
                        connection = Client(base_url, dict(connection.headers))
                        await asyncio.sleep(1.0)
                        continue
                    result.answers[answer.status] = result.answers.get(answer.status, 0) + 1
                    if answer.status == 201:
                        result.created[index] = answer.json().get("proposal_id", "")
                        result.last_201 = time.perf_counter()
                        break
                    if answer.status in SHED:
                        retry_after = answer.headers.get("retry-after")
                        if retry_after is None:
                            result.missing_retry_after += 1
                        await asyncio.sleep(float(retry_after or 1))
                        continue
                    break  # another answer is final (and would be a finding)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(number) for number in range(clients)))
    result.seconds = time.perf_counter() - started
    return result


def bodies_for(count: int) -> list[bytes]:
    rng = random.Random(5)
    return [orjson.dumps(proposal_body(rng, index)) for index in range(count)]


def stored_proposals(url: str, consultation_id: str, token: str) -> list[str]:
    """Every proposal id of the consultation in the submission service's store (its list, all pages)."""
    ids: list[str] = []
    cursor = None
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        while True:
            params: dict[str, str | int] = {"consultation_id": consultation_id, "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/v1/proposals", params=params).json()
            ids.extend(item["proposal_id"] for item in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return ids


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--submissions", type=int, default=75_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--visible-within", type=float, default=45.0)
    parser.add_argument("--wait", type=float, default=300.0, help="how long to wait for reporting at most")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=420.0,
        help="no new submission starts after this (the figure then says how many of N were sent)",
    )
    arguments = parser.parse_args()
    if arguments.backend == "postgresql" and not postgres_available():
        raise SystemExit("PostgreSQL is not reachable (AIREG_BENCH_POSTGRES_URL)")
    header(
        f"burst of {arguments.submissions:,} submissions from {arguments.clients} clients, {arguments.backend}"
    )
    bodies = bodies_for(min(arguments.submissions, 5000))
    with Bench() as bench:
        port = free_port()
        bench.helper(sys.executable, "-m", "bench.bare_endpoint", "--port", str(port), log_name="bare.log")
        bare_url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{bare_url}/health", timeout=1).status_code == 200, "bare endpoint")
        baseline = asyncio.run(
            burst(
                bare_url,
                "/v1/consultations/c/proposals",
                ["none"],
                bodies,
                arguments.submissions,
                arguments.clients,
            )
        )
        print(
            f"baseline  bare endpoint: {len(baseline.created):,} x 201 in {baseline.seconds:.1f}s = "
            f"{len(baseline.created) / baseline.seconds:,.0f}/s",
            flush=True,
        )

        stack = start_stack(bench, arguments.backend)
        consultation_id = open_consultation_everywhere(bench, stack, "BURST")
        tokens = [bench.token("portal", f"burst-portal-{index}") for index in range(arguments.clients)]
        path = f"/v1/consultations/{consultation_id}/proposals"
        result = asyncio.run(
            burst(
                stack.submission.url,
                path,
                tokens,
                bodies,
                arguments.submissions,
                arguments.clients,
                arguments.max_seconds,
            )
        )
        rate = len(result.created) / result.seconds
        if len(result.created) < arguments.submissions:
            print(
                f"          (stopped starting submissions after {arguments.max_seconds:.0f} s: "
                f"{len(result.created):,} of {arguments.submissions:,}; all of them would take about "
                f"{arguments.submissions / rate:,.0f} s at this rate)"
            )
        shed = sum(result.answers.get(status, 0) for status in SHED)
        print(
            f"figure    submission: {len(result.created):,} x 201 in {result.seconds:.1f}s = {rate:,.0f}/s; "
            f"{result.requests:,} requests, answers {dict(sorted(result.answers.items()))}, "
            f"{result.unanswered} unanswered, {shed:,} shed (429/503 count as answered), "
            f"{result.missing_retry_after} without Retry-After",
            flush=True,
        )

        stored = stored_proposals(
            stack.submission.url, consultation_id, bench.token("auditor", "bench-auditor")
        )
        named = set(result.created.values())
        print(
            f"          durable: {len(stored):,} stored, {len(named & set(stored)):,} of the {len(named):,} "
            f"201s among them, {len(set(stored) - named):,} stored without a 201, "
            f"{len(stored) - len(set(stored))} twice",
            flush=True,
        )

        dashboard = {"Authorization": f"Bearer {bench.token('dashboard', 'bench-dashboard')}"}
        visible_at: dict[str, float] = {}

        def visible() -> bool:
            answer = httpx.get(
                f"{stack.reporting.url}/v1/stats",
                params={"consultation_id": consultation_id},
                headers=dashboard,
                timeout=60,
            ).json()
            count = int(answer["proposals"])
            now = time.perf_counter()
            if count >= len(named):
                visible_at["all"] = now
                return True
            if now - result.last_201 <= arguments.visible_within:
                visible_at["within"] = count
            return False

        with contextlib.suppress(TimeoutError):
            wait_until(visible, "reporting shows every proposal", timeout=arguments.wait, interval=1.0)
        if "all" in visible_at:
            after = visible_at["all"] - result.last_201
            print(
                f"          visible in reporting: all {len(named):,} {after:.1f}s after the last 201 "
                f"(target <= {arguments.visible_within:.0f} s)"
            )
        else:
            print(
                f"          visible in reporting: {int(visible_at.get('within', 0)):,} of {len(named):,} "
                f"within {arguments.visible_within:.0f} s of the last 201; not all after {arguments.wait:.0f} s"
            )
        print(
            f"ratio     submission / bare: {rate / (len(baseline.created) / baseline.seconds):.2f} "
            "(accepted per second, same clients)"
        )


if __name__ == "__main__":
    main()
