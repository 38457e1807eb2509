"""Health, Prometheus metrics, a correlation id per request, and the usual security headers."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aireg_events.envelope import new_event_id
from aireg_events.tracing import correlation_id_var
from aireg_http.version import release

REQUESTS = Counter(
    "aireg_http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "aireg_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"

HealthCheck = Callable[[], Awaitable[dict[str, object]]]


_RESPONSE_HEADERS = [
    *((name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()),
    (b"content-security-policy", API_CSP.encode()),
    (b"cache-control", b"no-store"),
]


class RequestContext:
    """Pure ASGI middleware: correlation id in and out (``request.state.correlation_id`` and the logs'
    ``correlation_id``), security headers unless the app set its own, and request metrics by route
    template. (Starlette's ``BaseHTTPMiddleware`` cost a task and a stream per request: about a tenth of
    an intake's time, ``bench/intake.py``.)"""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-correlation-id":
                correlation_id = value.decode("latin-1")
                break
        correlation_id = (correlation_id or new_event_id())[:100]
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        started = time.perf_counter()
        status = [500]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _value in headers}
                headers.append((b"x-correlation-id", correlation_id.encode("latin-1")))
                headers.extend(item for item in _RESPONSE_HEADERS if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        token = correlation_id_var.set(correlation_id)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            correlation_id_var.reset(token)
            route = scope.get("route")
            template = str(getattr(route, "path", "unmatched")) if route is not None else "unmatched"
            method = scope["method"]
            REQUESTS.labels(self.service, method, template, str(status[0])).inc()
            LATENCY.labels(self.service, method, template).observe(time.perf_counter() - started)


def install_health_and_metrics(app: FastAPI, service: str, check: HealthCheck | None = None) -> None:
    version = release(f"aireg-{service}")

    @app.get("/health", tags=["operations"], summary="Liveness and readiness")
    async def health() -> dict[str, object]:
        details = await check() if check is not None else {}
        return {"status": "ok", "service": service, "version": version, **details}

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
