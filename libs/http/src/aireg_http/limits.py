"""Request limits: the body, read whole before a request takes a slot (401 before reading it without a
verified token, 413 as soon as its size is crossed, 408 when it comes too slowly), the time until the
answer starts (503 ``request_timeout``), and the requests in progress at once (503 ``overloaded``)."""

from __future__ import annotations

import asyncio

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aireg_http.auth import TokenVerifier, bearer_token, verify_once
from aireg_http.errors import ApiError, Unauthorized

UNLIMITED_PATHS = frozenset({"/health", "/metrics"})


async def _refuse_unavailable(send: Send, code: str, detail: str, retry_after: int) -> None:
    body = orjson.dumps({"error": code, "detail": detail, "retry_after": retry_after})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class NulInUrl:
    """Pure ASGI middleware: a NUL in the path or the query string (``%00``) is a 422 before any route
    sees it; no store can hold one (PostgreSQL text), and no identifier or filter of ours has one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = bytes(scope.get("raw_path") or b"") + b"?" + bytes(scope.get("query_string", b""))
            if b"%00" in raw or b"\x00" in raw or "\x00" in scope["path"]:
                body = orjson.dumps(
                    {"error": "validation_failed", "detail": "the path or the query string holds a NUL"}
                )
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                await send({"type": "http.response.start", "status": 422, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class RequestDeadline:
    """Pure ASGI middleware: sheds load and bounds the time until an answer starts.

    A request holds one of ``max_concurrent`` slots until its answer starts; with none free it gets 503
    ``overloaded`` at once, which costs the server nothing, instead of queueing behind work it cannot
    finish. An answer that has not started after ``timeout_seconds`` is cancelled and becomes 503
    ``request_timeout``; a started answer (a stream) runs on. A cancelled command is either committed
    whole or not at all (the log's transaction), so a client retries it like any 503, with the same
    ``Idempotency-Key`` where the route takes one.
    """

    def __init__(self, app: ASGIApp, *, timeout_seconds: float, max_concurrent: int) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds
        self.max_concurrent = max_concurrent
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        if self.max_concurrent > 0 and self.in_flight >= self.max_concurrent:
            await _refuse_unavailable(
                send, "overloaded", "the service is at its limit of requests in progress; retry soon", 1
            )
            return
        self.in_flight += 1
        holding = True
        started = False
        deadline: asyncio.Timeout | None = None

        def release() -> None:
            nonlocal holding
            if holding:
                holding = False
                self.in_flight -= 1

        async def send_started(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                release()
                if deadline is not None:
                    deadline.reschedule(None)
            await send(message)

        try:
            if self.timeout_seconds <= 0:
                await self.app(scope, receive, send_started)
                return
            try:
                async with asyncio.timeout(self.timeout_seconds) as deadline:
                    await self.app(scope, receive, send_started)
            except TimeoutError:
                if started or deadline is None or not deadline.expired():
                    raise
                await _refuse_unavailable(
                    send,
                    "request_timeout",
                    f"no answer within {self.timeout_seconds:g} s; it may or may not have been recorded: "
                    "retry it (with the same Idempotency-Key where the route takes one)",
                    1,
                )
        finally:
            release()


class RequestBody:
    """Pure ASGI middleware, outside the request slots (:class:`RequestDeadline`): reads a request's body
    whole before the app sees any of it, so that nobody holds a slot by sending slowly.

    A request that carries a body is authenticated first: without a verified token it is answered 401 as
    a route would answer it (``missing_token``, ``invalid_token``, ...) before a byte of the body is read,
    so unauthenticated uploads cost a header's parse. A body over ``max_bytes`` is refused with 413 by its
    ``Content-Length`` when one is declared, otherwise as soon as the bytes read cross it. A body not
    received whole within ``timeout_seconds`` is refused with 408 ``body_timeout``. A request without a
    body (no ``Content-Length`` or ``0``, not chunked) passes as it is; the route's dependency checks its
    token as before."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        chunked = False
        authorization = ""
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"authorization":
                authorization = value.decode("latin-1")
        if not chunked and not declared:
            await self.app(scope, receive, send)
            return
        refusal = self._unauthenticated(scope, authorization)
        if refusal is None and declared is not None and declared > self.max_bytes:
            refusal = self._too_large()
        if refusal is not None:
            await refusal.to_response(scope)(scope, receive, send)
            return
        body = await self._read(receive)
        if isinstance(body, ApiError):
            await body.to_response(scope)(scope, receive, send)
            return
        if body is None:  # the client went away
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _unauthenticated(self, scope: Scope, authorization: str) -> ApiError | None:
        verifier: TokenVerifier | None = getattr(
            getattr(scope.get("app"), "state", None), "token_verifier", None
        )
        if verifier is None:
            return None
        token = bearer_token(authorization)
        if token is None:
            return Unauthorized(
                "send Authorization: Bearer <token>",
                code="missing_token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            verify_once(scope.setdefault("state", {}), verifier, token)
        except ApiError as error:
            return error
        return None

    def _too_large(self) -> ApiError:
        return ApiError(
            f"the request body is over {self.max_bytes} bytes", code="payload_too_large", status_code=413
        )

    async def _read(self, receive: Receive) -> bytes | ApiError | None:
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout_seconds if self.timeout_seconds > 0 else None):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        return self._too_large()
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            return ApiError(
                f"the request body did not arrive whole within {self.timeout_seconds:g} s",
                code="body_timeout",
                status_code=408,
            )
