"""``GET /dashboard``: the live page a ministry official keeps open. One self-contained HTML file: inline
CSS, inline script, SVG charts drawn in the page; nothing fetched from anywhere but this service.

The page holds no data, so it is served without a token. It asks for a ``dashboard`` token once (or
takes it from the URL fragment ``#token=...``, which never reaches a server), keeps it in the tab's
``sessionStorage``, and sends it as ``Authorization: Bearer`` to ``/v1/stats``, ``/v1/deadlines`` and
``/v1/stream`` (read with ``fetch``, not ``EventSource``, precisely so the token stays out of URLs).
Its script runs under a per-response CSP nonce; it may connect to this origin only. Its words come from
the message catalogues (both languages in the page; a switch in the header chooses), its times are shown
in the time zone of the consultation on screen, the zone named.
"""

from __future__ import annotations

import secrets
from importlib.resources import files
from typing import Annotated

import orjson
from fastapi import APIRouter, Header
from fastapi.responses import HTMLResponse

from aireg_http.messages import LANGUAGES, Language, catalogue, preferred_language

_PAGE = files("aireg_reporting").joinpath("dashboard.html").read_text(encoding="utf-8")


def page_texts(language: Language) -> dict[str, object]:
    """What the page's script reads of one language's catalogue."""
    words = catalogue(language)
    return {
        "text": {
            key: text for key, text in words.section("dashboard").items() if not key.startswith("event.")
        },
        "events": words.section("dashboard.event"),
        "labels": words.labels(),
        "plural": {key: words.plural_forms(key) for key in ("proposals", "reviews", "campaigns", "days")},
        "time": words.section("time"),
        "zones": words.section("zone"),
    }


def _csp(nonce: str) -> str:
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def dashboard_router() -> APIRouter:
    router = APIRouter(tags=["dashboard"])
    texts = orjson.dumps({language: page_texts(language) for language in LANGUAGES}).decode()
    texts = texts.replace("</", "<\\/")

    @router.get("/dashboard", response_class=HTMLResponse, summary="The live dashboard page")
    async def dashboard(
        accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> HTMLResponse:
        """In the language the page's switch or ``?lang=`` chose, else the first of ours the browser asks
        for, else the language of the consultation it shows."""
        nonce = secrets.token_urlsafe(18)
        language = preferred_language(accept_language) or ""
        page = (
            _PAGE.replace("__NONCE__", nonce).replace("__CATALOGUES__", texts).replace("__LANG__", language)
        )
        return HTMLResponse(
            page, headers={"content-security-policy": _csp(nonce), "cache-control": "no-store"}
        )

    return router
