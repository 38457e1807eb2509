"""Hostile input, sent as a careless or compromised portal would send it, to the running services on the
session's broker (issue 25): pathological Unicode (U+FDFA, which NFKC makes 18 characters; combining
marks; emoji; bidirectional overrides), long words, control characters, regex bait (``"a-" * 50000``),
huge and deeply nested JSON. Each request gets a 2xx or a clear 4xx (JSON with a machine code); the
services keep answering ``/health`` meanwhile, no process dies, analysis and reporting stay under
:data:`PEAK_MIB` of memory, submission's relay catches up with its log, and an ordinary proposal sent
afterwards is triaged.

Bounded and repeatable: hypothesis draws at most ``EXAMPLES`` bodies, derandomized, without shrinking.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.security.conftest import Target
from tests.support.system import proposal_body
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

EXAMPLES = 25
PEAK_MIB = 512
LENGTH = 100_000
"""The longest text a proposal may have."""

ISSUE_TEXTS = {
    "regex bait": "a-" * (LENGTH // 2),
    "U+FDFA": "\ufdfa" * LENGTH,
    "emoji": "\U0001f600" * LENGTH,
    "one long word": "a" * LENGTH,
}
"""The texts issue 25 names (the fifth, an amendment of control characters, is sent as an amendment)."""

PATHOLOGICAL = st.sampled_from(
    [
        "\ufdfa",  # NFKC: 18 characters
        "\u0301",  # a combining acute accent, stacked on nothing
        "\U0001f469\u200d\U0001f469\u200d\U0001f467",  # a family: three emoji joined by ZWJ
        "\u202e",  # right-to-left override
        "\ufeff",  # a byte-order mark inside the text
        "\u3300",  # a square katakana word, NFKC: 4 characters
        "\U0001d400",  # mathematical bold A
        "\x01",  # a control character: six bytes in canonical JSON
        "\x7f",
        "\u2028",  # line separator
        "a-",  # the file-name pattern's bait
        "a.",
        "((",
        "\\b",
        "x",
    ]
)
HOSTILE_TEXT = st.builds(
    lambda pieces: "".join(piece * count for piece, count in pieces),
    st.lists(st.tuples(PATHOLOGICAL, st.integers(1, 40_000)), min_size=1, max_size=4),
)


def nested(depth: int) -> bytes:
    """A proposal whose submitter is ``depth`` lists deep."""
    body = orjson.dumps(proposal_body("Deeply nested")).decode()
    return body.replace(
        '"submitter":{', '"submitter":' + "[" * depth + "]" * depth + ',"ignored":{', 1
    ).encode()


def clear_answer(response: httpx.Response) -> tuple[int, str]:
    """(status, machine code) of an answer that is a 2xx or a clear 4xx; fails on anything else."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code < 300:
        return response.status_code, ""
    assert 400 <= response.status_code < 500, response.status_code
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return response.status_code, str(body["error"])


def peak_mib(pid: int) -> float:
    """The peak resident memory of process ``pid`` (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


class HealthWatch:
    """Asks every service's ``/health`` over and over, in a thread, while the test sends; remembers what
    did not answer 200 (a timeout of ``timeout`` seconds included)."""

    def __init__(self, target: Target, timeout: float = 5.0) -> None:
        self.urls = {name: target.system.url(name) for name in ("submission", "analysis", "reporting")}
        self.timeout = timeout
        self.failures: list[str] = []
        self.answered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while not self._stop.is_set():
                for name, url in self.urls.items():
                    try:
                        status = client.get(f"{url}/health").status_code
                    except httpx.HTTPError as error:
                        self.failures.append(f"{name}: {error!r}")
                        continue
                    if status != 200:
                        self.failures.append(f"{name}: {status}")
                    self.answered += 1
                self._stop.wait(0.2)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.fixture(scope="module")
def watched(target: Target) -> Iterator[HealthWatch]:
    with HealthWatch(target) as watch:
        yield watch


def submit(client: httpx.Client, target: Target, body: dict[str, Any] | bytes) -> httpx.Response:
    headers = {**target.header(target.portal_a_token), "Idempotency-Key": uuid.uuid4().hex}
    url = f"{target.system.url('submission')}/v1/consultations/{target.consultation_id}/proposals"
    if isinstance(body, bytes):
        return client.post(url, headers={**headers, "Content-Type": "application/json"}, content=body)
    return client.post(url, headers=headers, json=body)


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(text=HOSTILE_TEXT, title=HOSTILE_TEXT)
def test_hostile_texts_get_a_2xx_or_a_clear_4xx(
    target: Target, watched: HealthWatch, text: str, title: str
) -> None:
    with httpx.Client(timeout=60) as client:
        clear_answer(submit(client, target, proposal_body(title[:300], text=text[:LENGTH])))
        clear_answer(submit(client, target, proposal_body(title, text=text)))


def test_deeply_nested_and_huge_json_gets_a_clear_4xx(target: Target, watched: HealthWatch) -> None:
    with httpx.Client(timeout=60) as client:
        answers = {
            "nested 100": clear_answer(submit(client, target, nested(100))),
            "nested 100,000": clear_answer(submit(client, target, nested(100_000))),
            "over the body limit": clear_answer(
                submit(client, target, proposal_body(text="a" * LENGTH, summary="b" * 2_000_000))
            ),
        }
    assert {name: status for name, (status, _code) in answers.items()} == {
        "nested 100": 422,
        "nested 100,000": 400,  # malformed_body: deeper than the JSON parser goes
        "over the body limit": 413,
    }, answers


async def test_the_issues_inputs_twenty_at_once_leave_every_service_answering_within_its_memory(
    target: Target, watched: HealthWatch
) -> None:
    system = target.system
    portal = target.header(target.portal_a_token)
    async with httpx.AsyncClient(timeout=120) as client:

        async def send(text: str) -> httpx.Response:
            return await client.post(
                f"{system.url('submission')}/v1/consultations/{target.consultation_id}/proposals",
                headers={**portal, "Idempotency-Key": uuid.uuid4().hex},
                json=proposal_body("Hostile", text=text),
            )

        answers = await asyncio.gather(*(send(text) for text in list(ISSUE_TEXTS.values()) * 5))
        statuses = [clear_answer(answer) for answer in answers]
        accepted = [answer.json()["proposal_id"] for answer in answers if answer.status_code == 201]
        amended = await asyncio.gather(
            *(
                client.post(
                    f"{system.url('submission')}/v1/proposals/{proposal_id}/amendments",
                    headers=portal,
                    json={"changes": {"text": "\x01" * LENGTH}, "reason": "control characters"},
                )
                for proposal_id in accepted[:5]
            )
        )
        amendments = [clear_answer(answer) for answer in amended]
        ordinary = await send("An ordinary proposal after the hostile ones: certify diagnostic AI.")
        assert ordinary.status_code == 201, ordinary.text
        lead = {"Authorization": f"Bearer {system.tokens('lead', 'lead-hostile')}"}

        async def triaged() -> bool:
            answer = await client.get(
                f"{system.url('analysis')}/v1/proposals/{ordinary.json()['proposal_id']}", headers=lead
            )
            return answer.status_code == 200 and answer.json().get("triage_event_id") is not None

        assert await eventually(triaged, until=bool, timeout=60)

        async def relayed() -> bool:
            health = (await client.get(f"{system.url('submission')}/health")).json()
            return bool(health["relay_position"] == health["log_position"])

        assert await eventually(relayed, until=bool, timeout=60)
    assert statuses == [(201, "")] * len(answers), statuses
    assert amendments == [(422, "event_too_large")] * len(amendments)
    for name in ("submission", "analysis", "reporting"):
        process = system[name].process
        assert process is not None and process.poll() is None, f"{name} exited"
    peaks = {name: peak_mib(system[name].process.pid) for name in ("analysis", "reporting")}  # type: ignore[union-attr]
    assert all(peak < PEAK_MIB for peak in peaks.values()), peaks
    assert watched.answered > 0 and watched.failures == [], watched.failures[:10]
