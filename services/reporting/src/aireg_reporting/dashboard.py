"""``GET /dashboard``: the live page a ministry official keeps open. One self-contained HTML file: inline
CSS, inline script, SVG charts drawn in the page; nothing fetched from anywhere but this service.

The page holds no data, so it is served without a token. It asks for a ``dashboard`` token once (or
takes it from the URL fragment ``#token=...``, which never reaches a server), keeps it in the tab's
``sessionStorage``, and sends it as ``Authorization: Bearer`` to ``/v1/stats``, ``/v1/deadlines`` and
``/v1/stream`` (read with ``fetch``, not ``EventSource``, precisely so the token stays out of URLs).
Its script runs under a per-response CSP nonce; it may connect to this origin only.
"""

from __future__ import annotations

import secrets
from importlib.resources import files

import orjson
from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from aireg_reporting.document.labels import LABELS

_PAGE = files("aireg_reporting").joinpath("dashboard.html").read_text(encoding="utf-8")
_EVENT_LABELS = {
    "proposal_submitted": "submitted",
    "proposal_amended": "amended",
    "proposal_withdrawn": "withdrawn",
    "proposal_triaged": "triaged",
    "proposal_released_from_campaign": "released",
    "reviewer_assigned": "assigned",
    "review_submitted": "review",
    "proposal_assessed": "assessed",
    "government_package_opened": "package",
    "proposal_added_to_package": "package",
    "proposal_forwarded_to_government": "forwarded",
    "government_package_submitted": "to government",
    "consultation_opened": "consultation",
    "portal_suspended": "portal",
    "portal_resumed": "portal",
}


def _csp(nonce: str) -> str:
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def dashboard_router() -> APIRouter:
    router = APIRouter(tags=["dashboard"])
    labels = orjson.dumps({**LABELS, **_EVENT_LABELS}).decode().replace("</", "<\\/")

    @router.get("/dashboard", response_class=HTMLResponse, summary="The live dashboard page")
    async def dashboard() -> HTMLResponse:
        nonce = secrets.token_urlsafe(18)
        page = _PAGE.replace("__NONCE__", nonce).replace("__LABELS__", labels)
        return HTMLResponse(
            page, headers={"content-security-policy": _csp(nonce), "cache-control": "no-store"}
        )

    return router
