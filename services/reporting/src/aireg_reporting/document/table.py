"""The package document as CSV for spreadsheets: one ``recommendation`` row per proposal (with the event
ids it came from), then one ``manifest`` row with the content hash, the moment and the events' digest."""

from __future__ import annotations

import csv
import io

from aireg_events.canonical import format_timestamp
from aireg_reporting.document.content import CRITERIA, PackageDocument

COLUMNS = [
    "record",
    "registration_number",
    "proposal_id",
    "title",
    "submitter_name",
    "submitter_kind",
    "late",
    "directions",
    "questions",
    "positions",
    "instrument",
    "approach",
    "cost_of_error",
    "status",
    "outcome",
    "merged_into_registration_number",
    "rationale",
    "assessed_at",
    "assessment_late",
    "forwarded_at",
    "forwarding_late",
    "reviews",
    "reviews_ministry",
    "reviews_analytical_center",
    *[f"average_{criterion}" for criterion in CRITERIA],
    "event_ids",
    "content_sha256",
    "as_of",
    "event_count",
    "event_ids_sha256",
]


def _safe(value: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def render_csv(document: PackageDocument) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for entry in document.document.recommendations:
        summary = entry.reviews_summary
        row: dict[str, object] = {
            "record": "recommendation",
            "registration_number": _safe(entry.registration_number),
            "proposal_id": entry.proposal_id,
            "title": _safe(entry.title),
            "submitter_name": _safe(entry.submitter_name),
            "submitter_kind": entry.submitter_kind,
            "late": str(entry.late).lower(),
            "directions": ";".join(entry.directions),
            "questions": ";".join(entry.questions),
            "positions": ";".join(f"{question}={position}" for question, position in entry.positions.items()),
            "instrument": entry.instrument,
            "approach": entry.approach,
            "cost_of_error": entry.cost_of_error,
            "status": entry.status,
            "outcome": entry.outcome or "",
            "merged_into_registration_number": entry.merged_into_registration_number or "",
            "rationale": _safe(entry.rationale or ""),
            "assessed_at": format_timestamp(entry.assessed_at) if entry.assessed_at else "",
            "assessment_late": str(entry.assessment_late).lower(),
            "forwarded_at": format_timestamp(entry.forwarded_at) if entry.forwarded_at else "",
            "forwarding_late": str(entry.forwarding_late).lower(),
            "reviews": summary.count,
            "reviews_ministry": summary.by_organization.get("ministry", 0),
            "reviews_analytical_center": summary.by_organization.get("analytical_center", 0),
            "event_ids": " ".join(entry.event_ids),
        }
        for criterion in CRITERIA:
            average = summary.average_scores.get(criterion)
            row[f"average_{criterion}"] = f"{average:.2f}" if average is not None else ""
        writer.writerow(row)
    manifest = document.manifest
    writer.writerow(
        {
            "record": "manifest",
            "content_sha256": manifest.content_sha256,
            "as_of": format_timestamp(manifest.as_of),
            "event_count": manifest.event_count,
            "event_ids_sha256": manifest.event_ids_sha256,
        }
    )
    return buffer.getvalue()
