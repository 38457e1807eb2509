"""The contract documents: each service's OpenAPI, built from its app without starting it, and the text
they are written in (the files under docs/api/ and what `aireg openapi` and `aireg asyncapi` print)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from aireg_events.signing import write_key_pair


def document_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def openapi_document(service: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        private, public = write_key_pair(Path(scratch), "scratch")
        common: dict[str, Any] = {
            "database_url": "sqlite+aiosqlite:///:memory:",
            "token_public_key_file": public,
            "run_migrations": False,
        }
        if service == "submission":
            from aireg_submission.app import create_app as create_submission
            from aireg_submission.settings import Settings as SubmissionSettings

            return create_submission(SubmissionSettings(**common, signing_key_file=private)).openapi()
        if service == "analysis":
            from aireg_analysis.app import create_app as create_analysis
            from aireg_analysis.settings import Settings as AnalysisSettings

            return create_analysis(AnalysisSettings(**common, signing_key_file=private)).openapi()
        if service == "reporting":
            from aireg_reporting.app import create_app as create_reporting
            from aireg_reporting.settings import Settings as ReportingSettings

            return create_reporting(ReportingSettings(**common)).openapi()
    raise KeyError(service)
