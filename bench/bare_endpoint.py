"""The intake benchmark's baseline: a bare FastAPI endpoint on the same path that validates the same body
(the same pydantic ``ProposalBody``) and the Idempotency-Key header, stores nothing and answers 201.
Served like the services (uvicorn with uvloop and httptools, no access log), one process.

    uv run python -m bench.bare_endpoint --port 8100
"""

from __future__ import annotations

import argparse
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, status

from aireg_events.catalogue.submission import ProposalBody
from aireg_events.envelope import new_event_id
from aireg_http.serve import serve
from aireg_http.settings import ServiceSettings


def create_app() -> FastAPI:
    app = FastAPI(title="bare intake endpoint")

    @app.post("/v1/consultations/{consultation_id}/proposals", status_code=status.HTTP_201_CREATED)
    async def submit(
        consultation_id: str,
        body: ProposalBody,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> dict[str, Any]:
        if not idempotency_key:
            raise HTTPException(422, "idempotency_key_required")
        return {
            "proposal_id": new_event_id(),
            "consultation_id": consultation_id,
            "status": "submitted",
            "title": body.title,
        }

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    settings = ServiceSettings.model_construct(host="127.0.0.1", port=arguments.port, log_format="text")
    serve(create_app(), settings, service="bare")


if __name__ == "__main__":
    main()
