"""Running a service's app: uvicorn (uvloop and httptools where installed) with structured logs."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from aireg_http.logs import configure_logging


def serve(app: FastAPI, *, host: str, port: int, service: str, log_format: str = "json") -> None:
    configure_logging(service, log_format)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        loop="auto",
        http="auto",
        timeout_graceful_shutdown=10,
        server_header=False,
    )
