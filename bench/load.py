"""Load generators: ``wrk`` (closed loop, as fast as the server answers) with a Lua script that gives
every request its own Idempotency-Key, and an open-loop generator at a fixed rate in asyncio (wrk has no
fixed rate; wrk2 is not packaged). The open loop measures each latency from the moment the request was
due, not from when it could be sent, so a stalled server is not hidden (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench.harness import percentile

# --- wrk ------------------------------------------------------------------------------------------

_WRK_SCRIPT = """
local bodies = {%(bodies)s}
local tokens = {%(tokens)s}
local run = "%(run)s"
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
end
function init(args)
  counter = 0
end
function request()
  counter = counter + 1
  local body = bodies[(counter %% #bodies) + 1]
  wrk.headers["Idempotency-Key"] = run .. "-" .. id .. "-" .. counter
  wrk.headers["Authorization"] = "Bearer " .. tokens[(counter %% #tokens) + 1]
  return wrk.format("POST", nil, nil, body)
end
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %%d, "duration_us": %%d, "non_2xx": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, errors.status, errors.connect, errors.read, errors.write,
    errors.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def accepted(self) -> int:
        return self.requests - self.non_2xx

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.seconds


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def write_wrk_script(folder: Path, bodies: Sequence[bytes], run: str, tokens: Sequence[str]) -> Path:
    """A Lua script for wrk: POSTs the bodies in turn, each with its own Idempotency-Key, from the
    tokens in turn (several portals: the rate limit is per token)."""
    for body in bodies:
        if b"]==]" in body:
            raise ValueError("a body cannot hold the Lua long-string terminator")
    listed = ",\n".join(f"[==[{body.decode()}]==]" for body in bodies)
    token_list = ", ".join(f'"{token}"' for token in tokens)
    path = folder / f"wrk-{run.replace('/', '-').replace(' ', '-')}.lua"
    path.write_text(_WRK_SCRIPT % {"bodies": listed, "tokens": token_list, "run": run})
    return path


def run_wrk(
    url: str,
    *,
    script: Path,
    seconds: int,
    connections: int,
    threads: int = 1,
) -> WrkResult:
    """``wrk`` POSTing the script's bodies to ``url`` for ``seconds`` over ``connections``."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        "-H",
        "Content-Type: application/json",
        url,
    ]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=True)
    line = next(
        (line for line in finished.stdout.splitlines() if line.startswith("WRK_RESULT ")),
        None,
    )
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{finished.stdout}\n{finished.stderr}")
    figures: dict[str, int] = json.loads(line.removeprefix("WRK_RESULT "))
    return WrkResult(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        non_2xx=figures["non_2xx"],
        socket_errors=figures["connect"] + figures["read"] + figures["write"] + figures["timeout"],
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
    )


# --- a minimal HTTP/1.1 client (keep-alive, no overhead worth measuring) ---------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
        return cls(reader, writer)

    async def send(self, request: bytes) -> Answer:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await self.reader.readexactly(length) if length else b""
        return Answer(status, headers, body)

    def close(self) -> None:
        self.writer.close()


class Client:
    """Keep-alive connections to one server, opened as needed and reused."""

    def __init__(
        self, base_url: str, headers: dict[str, str] | None = None, *, max_connections: int = 256
    ) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.headers = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        self._idle: list[Connection] = []
        self._slots = asyncio.Semaphore(max_connections)
        self.opened = 0

    def encode(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> bytes:
        lines = [f"{method} {path} HTTP/1.1"]
        for name, value in {**self.headers, **(headers or {})}.items():
            lines.append(f"{name}: {value}")
        if body or method in ("POST", "PUT"):
            lines.append("Content-Type: application/json")
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        raw = self.encode(method, path, body, headers)
        async with self._slots:  # at most max_connections at once; the others wait their turn
            connection = self._idle.pop() if self._idle else None
            while True:
                reused = connection is not None
                if connection is None:
                    connection = await Connection.open(self.host, self.port)
                    self.opened += 1
                try:
                    answer = await connection.send(raw)
                    break
                except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError):
                    connection.close()
                    if not reused:
                        raise
                    # The server closed an idle keep-alive connection (uvicorn does after 5 s) as the
                    # request went out: send it again on a new one, as HTTP clients do (every request
                    # here carries its Idempotency-Key, so a second copy cannot record anything twice).
                    connection = None
                except BaseException:
                    connection.close()
                    raise
            if answer.headers.get("connection", "").lower() == "close":
                connection.close()
            else:
                self._idle.append(connection)
            return answer

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


# --- open loop at a fixed rate ----------------------------------------------------------------------


@dataclass
class Sent:
    index: int
    due: float
    """When it was due (``time.perf_counter()``): latencies count from here."""
    finished: float = 0.0
    status: int = 0
    answer: Answer | None = None
    error: str | None = None

    @property
    def latency(self) -> float:
        return self.finished - self.due


@dataclass
class OpenLoopResult:
    rate: float
    seconds: float
    sent: list[Sent] = field(default_factory=list)

    def with_status(self, status: int) -> list[Sent]:
        return [item for item in self.sent if item.status == status]

    def latencies_ms(self, status: int = 201) -> list[float]:
        return [item.latency * 1000 for item in self.with_status(status)]

    def p(self, fraction: float, status: int = 201) -> float:
        return percentile(self.latencies_ms(status), fraction)

    @property
    def achieved_rate(self) -> float:
        return len(self.with_status(201)) / self.seconds

    def errors(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.sent:
            if item.error is not None:
                kind = item.error.split("(", 1)[0]
                counts[kind] = counts.get(kind, 0) + 1
        return counts

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for item in self.sent:
            counts[item.status] = counts.get(item.status, 0) + 1
        return counts


async def open_loop(
    client: Client,
    *,
    rate: float,
    seconds: float,
    request: Callable[[int], tuple[str, str, bytes, dict[str, str]]],
    on_answer: Callable[[Sent], None] | None = None,
) -> OpenLoopResult:
    """Send ``request(i)`` (method, path, body, headers) at ``rate`` per second for ``seconds``, each
    on time whether or not earlier ones have been answered."""
    total = int(rate * seconds)
    result = OpenLoopResult(rate, seconds)
    tasks: list[asyncio.Task[None]] = []
    started = time.perf_counter()

    async def one(item: Sent, method: str, path: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            answer = await client.request(method, path, body, headers)
            item.status = answer.status
            item.answer = answer
        except Exception as error:
            item.error = repr(error)
        item.finished = time.perf_counter()
        if on_answer is not None:
            on_answer(item)

    for index in range(total):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        item = Sent(index, due)
        result.sent.append(item)
        method, path, body, headers = request(index)
        tasks.append(asyncio.create_task(one(item, method, path, body, headers)))
    await asyncio.gather(*tasks)
    return result
