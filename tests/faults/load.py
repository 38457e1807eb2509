"""A steady load of submissions, the way portals send them on deadline day, and the count afterwards.

Each submission has its own ``Idempotency-Key`` and is sent again with the same key when the answer is
lost or says "retry" (a connection refused or cut by a crash, a 503), as a portal does; so every
submission sent ends with one 201, and a crash between the commit and the answer must not make a second
proposal. Loops are bounded in count and in time, and only go to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.system import System, proposal_body

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass
class Figures:
    """What a fault test reports: submissions sent, accepted (201), delivered to every downstream store,
    duplicates found anywhere, and lost (accepted but missing somewhere)."""

    test: str
    sent: int = 0
    requests: int = 0
    accepted: int = 0
    delivered: int = 0
    duplicates: int = 0
    lost: int = 0
    retried: int = 0
    answers: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        figures = (
            f"sent={self.sent} requests={self.requests} accepted={self.accepted} "
            f"delivered={self.delivered} duplicates={self.duplicates} lost={self.lost} "
            f"retried={self.retried} answers={dict(sorted(self.answers.items()))}"
        )
        extra = " ".join(f"{key}={value}" for key, value in self.extra.items())
        return f"[figures] {self.test}: {figures} {extra}".rstrip()

    def report(self, folder: Path) -> None:
        """Print the figures (``pytest -s`` shows them) and keep them in ``folder/fault-figures.jsonl``."""
        print(self.line())
        with (folder / "fault-figures.jsonl").open("a") as out:
            out.write(json.dumps(asdict(self)) + "\n")


@dataclass
class SubmissionLoad:
    """Sends ``rate`` submissions a second to one consultation until stopped or ``max_count`` were sent."""

    system: System
    consultation_id: str
    label: str
    rate: float = 4.0
    max_count: int = 400
    portals: int = 4
    retry_for: float = 90.0
    """How long one submission is sent again before the test gives up on it."""
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Idempotency key → the 201 answer."""
    answers: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    retried: int = 0
    sent: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    """Submissions that never got a 201, with the last answer."""
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _runner: asyncio.Task[None] | None = None
    _headers: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._headers = [
            self.system.tokens.header("portal", f"{self.label}-portal-{index}")
            for index in range(self.portals)
        ]

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run())

    async def stop(self, settle: float = 120.0) -> None:
        """Stop sending new submissions and wait (at most ``settle`` s) for those under way to end."""
        self._stop.set()
        if self._runner is not None:
            await self._runner
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=settle)
            for task in pending:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*pending, return_exceptions=True)

    async def wait_accepted(self, count: int, timeout: float = 60.0) -> None:
        """Wait until at least ``count`` submissions were accepted (the load is running)."""
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count:
            assert time.monotonic() < deadline, f"only {len(self.accepted)} accepted after {timeout}s"
            await asyncio.sleep(0.1)

    async def _run(self) -> None:
        async with httpx.AsyncClient(
            base_url=self.system.url("submission"), timeout=httpx.Timeout(20.0, connect=2.0)
        ) as client:
            interval = 1.0 / self.rate
            next_at = time.monotonic()
            while not self._stop.is_set() and self.sent < self.max_count:
                index = self.sent
                self.sent += 1
                self._tasks.append(asyncio.create_task(self._submit(client, index)))
                next_at += interval
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), max(0.0, next_at - time.monotonic()))
            if self._tasks:
                await asyncio.wait(self._tasks)

    async def _submit(self, client: httpx.AsyncClient, index: int) -> None:
        key = f"{self.label}-{index}"
        headers = {**self._headers[index % self.portals], "Idempotency-Key": key}
        body = proposal_body(
            title=f"Proposal {index} of {self.label}: certify diagnostic AI (variant {index})"
        )
        give_up_at = time.monotonic() + self.retry_for
        last = ""
        attempt = 0
        while time.monotonic() < give_up_at:
            if attempt:
                self.retried += 1
                await asyncio.sleep(min(0.2 * attempt, 1.0))
            attempt += 1
            self.requests += 1
            try:
                response = await client.post(
                    f"/v1/consultations/{self.consultation_id}/proposals", headers=headers, json=body
                )
            except httpx.TransportError as error:
                self.answers[type(error).__name__] += 1
                last = repr(error)
                continue
            self.answers[str(response.status_code)] += 1
            if response.status_code == 201:
                self.accepted[key] = response.json()
                return
            last = f"{response.status_code} {response.text[:300]}"
            if response.status_code in RETRYABLE_STATUSES:
                assert response.headers.get("content-type", "").startswith("application/json"), last
                continue
            break  # a refusal that a retry cannot change: record it, it fails the test
        self.failed[key] = last

    def figures(self, test: str) -> Figures:
        return Figures(
            test=test,
            sent=self.sent,
            requests=self.requests,
            accepted=len(self.accepted),
            retried=self.retried,
            answers=dict(self.answers),
        )
