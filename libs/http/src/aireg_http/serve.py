"""Running a service: uvicorn (uvloop and httptools where installed) with structured logs, and the one
``main`` of every service's ``python -m aireg_<service>``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from aireg_http.logs import configure_logging
from aireg_http.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def serve(app: FastAPI, settings: ServiceSettings, *, service: str) -> None:
    """Serve ``app`` on the settings' host and port. ``X-Forwarded-For`` is read only from the addresses
    of ``AIREG_TRUSTED_PROXIES`` (uvicorn would otherwise trust it from loopback)."""
    configure_logging(service, settings.log_format)
    trusted = settings.trusted_proxies.strip()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        loop="auto",
        http="auto",
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or "",
        timeout_graceful_shutdown=10,
        server_header=False,
    )


def run_service(service: str, settings_type: Callable[[], S], create_app: Callable[[S], FastAPI]) -> None:
    """``python -m aireg_<service>``: settings from the environment, the service's app, served."""
    settings = settings_type()
    serve(create_app(settings), settings, service=service)
