"""One call that gives a service's FastAPI app every shared HTTP convention."""

from __future__ import annotations

from fastapi import FastAPI

from aireg_events.tracing import configure_tracing
from aireg_http.errors import install_error_handlers
from aireg_http.limits import BodySizeLimit
from aireg_http.observability import HealthCheck, RequestContext, install_health_and_metrics

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def install_conventions(
    app: FastAPI,
    *,
    service: str,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    health_check: HealthCheck | None = None,
) -> None:
    settings = getattr(app.state, "settings", None)
    if settings is not None:
        configure_tracing(service, settings.otel_exporter, settings.otel_jsonl_file)
    install_error_handlers(app)
    install_health_and_metrics(app, service, health_check)
    app.add_middleware(RequestContext, service=service)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
