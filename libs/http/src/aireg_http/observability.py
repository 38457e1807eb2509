"""Health, Prometheus metrics, a correlation id per request, and the usual security headers."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.routing import Match

from aireg_events.envelope import new_event_id

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


def _route_template(request: Request) -> str:
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "?"))
    return "unmatched"


class RequestContext(BaseHTTPMiddleware):
    """Correlation id in and out, security headers, and request metrics."""

    def __init__(self, app: object, service: str) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.service = service

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        correlation_id = request.headers.get("x-correlation-id") or new_event_id()
        request.state.correlation_id = correlation_id[:100]
        started = time.perf_counter()
        response = await call_next(request)
        route = _route_template(request)
        REQUESTS.labels(self.service, request.method, route, str(response.status_code)).inc()
        LATENCY.labels(self.service, request.method, route).observe(time.perf_counter() - started)
        response.headers["x-correlation-id"] = request.state.correlation_id
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("content-security-policy", API_CSP)
        response.headers.setdefault("cache-control", "no-store")
        return response


def install_health_and_metrics(app: FastAPI, service: str, check: HealthCheck | None = None) -> None:
    @app.get("/health", tags=["operations"], summary="Liveness and readiness")
    async def health() -> dict[str, object]:
        details = await check() if check is not None else {}
        return {"status": "ok", "service": service, **details}

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
