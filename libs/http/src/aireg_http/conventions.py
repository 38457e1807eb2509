"""One call that gives a service's FastAPI app every shared HTTP convention."""

from __future__ import annotations

from fastapi import FastAPI

from aireg_events.tracing import configure_tracing
from aireg_http.errors import install_error_handlers
from aireg_http.limits import NulInUrl, RequestBody, RequestDeadline
from aireg_http.observability import HealthCheck, RequestContext, install_health_and_metrics
from aireg_http.openapi import document_shared_answers
from aireg_http.rate_limits import RateLimit
from aireg_http.settings import ServiceSettings
from aireg_http.version import release

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def install_conventions(
    app: FastAPI,
    *,
    service: str,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    health_check: HealthCheck | None = None,
) -> None:
    """Errors, health, metrics, and the middlewares; from the outside in: correlation id, security
    headers and metrics (so every answer below has them), rate limits, no NUL in the URL, the body (its
    token checked first, then read whole within its deadline and size, outside the request slots), load
    shedding and timeout. The limits come from ``app.state.settings`` when the app has it (else the
    defaults of :class:`ServiceSettings`)."""
    settings = getattr(app.state, "settings", None)
    if settings is not None:
        configure_tracing(service, settings.otel_exporter, settings.otel_jsonl_file)
    limits = settings if isinstance(settings, ServiceSettings) else ServiceSettings.model_construct()

    app.version = release(f"aireg-{service}")  # the OpenAPI document's info.version: the release
    install_error_handlers(app)
    document_shared_answers(app)
    install_health_and_metrics(app, service, health_check)
    app.add_middleware(
        RequestDeadline,
        timeout_seconds=limits.request_timeout_seconds,
        max_concurrent=limits.max_concurrent_requests,
    )
    app.add_middleware(
        RequestBody, max_bytes=max_body_bytes, timeout_seconds=limits.body_read_timeout_seconds
    )
    app.add_middleware(NulInUrl)
    app.add_middleware(
        RateLimit,
        per_token_per_minute=limits.rate_limit_per_minute,
        per_address_per_minute=limits.rate_limit_per_address_per_minute,
    )
    app.add_middleware(RequestContext, service=service)
