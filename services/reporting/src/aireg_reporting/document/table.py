"""The package document as CSV for spreadsheets: one recommendation row per proposal (with the event
ids it came from), then one manifest row with the content hash, the moment and the events' digest.

A person reads it, so the header, the record kinds, the coded values (directions, statuses...) and yes/no
are in the document's language; ids, hashes and timestamps (UTC, canonical) are as in the JSON."""

from __future__ import annotations

import csv
import io

from aireg_events.canonical import format_timestamp
from aireg_http.messages import Language
from aireg_reporting.document.content import CRITERIA, PackageDocument
from aireg_reporting.document.wording import Wording, evidence_of, risks_of, tallies_of

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
    "measure_id",
    "application_areas",
    "risks_of_adoption",
    "risks_of_rejection",
    "tallies",
    "evidence",
    "content_sha256",
    "as_of",
    "event_count",
    "event_ids_sha256",
]


def _safe(value: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def render_csv(document: PackageDocument, language: Language) -> str:
    words = Wording.of(document, language)
    label = words.label

    def labels(values: list[str]) -> str:
        return "; ".join(label(value) for value in values)

    def yes_no(value: bool) -> str:
        return words("yes") if value else words("no")

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([words.catalogue.text(f"csv.{column}") for column in COLUMNS])
    for measure in document.document.measures:
        measure_row: dict[str, object] = {
            "record": words("record_measure"),
            "measure_id": measure.measure_id,
            "title": _safe(measure.title),
            "directions": labels(measure.directions),
            "questions": labels(measure.questions),
            "instrument": label(measure.instrument),
            "approach": label(measure.approach),
            "cost_of_error": label(measure.min_cost_of_error),
            "application_areas": labels(measure.application_areas),
            "status": label(measure.status),
            "rationale": _safe(measure.decision_rationale or ""),
            "risks_of_adoption": _safe(risks_of(words, measure.risks_of_adoption)),
            "risks_of_rejection": _safe(risks_of(words, measure.risks_of_rejection)),
            "tallies": tallies_of(words, measure),
            "evidence": _safe(" | ".join(evidence_of(words, measure))),
            "event_ids": " ".join(measure.event_ids),
        }
        writer.writerow([measure_row.get(column, "") for column in COLUMNS])
    for entry in document.document.recommendations:
        summary = entry.reviews_summary
        row: dict[str, object] = {
            "record": words("record_recommendation"),
            "registration_number": _safe(entry.registration_number),
            "proposal_id": entry.proposal_id,
            "title": _safe(entry.title),
            "submitter_name": _safe(entry.submitter_name),
            "submitter_kind": label(entry.submitter_kind),
            "late": yes_no(entry.late),
            "directions": labels(entry.directions),
            "questions": labels(entry.questions),
            "positions": "; ".join(f"{label(q)}: {words.lower(p)}" for q, p in entry.positions.items()),
            "instrument": label(entry.instrument),
            "approach": label(entry.approach),
            "cost_of_error": label(entry.cost_of_error),
            "status": label(entry.status),
            "outcome": label(entry.outcome) if entry.outcome else "",
            "merged_into_registration_number": entry.merged_into_registration_number or "",
            "rationale": _safe(entry.rationale or ""),
            "assessed_at": format_timestamp(entry.assessed_at) if entry.assessed_at else "",
            "assessment_late": yes_no(entry.assessment_late),
            "forwarded_at": format_timestamp(entry.forwarded_at) if entry.forwarded_at else "",
            "forwarding_late": yes_no(entry.forwarding_late),
            "reviews": summary.count,
            "reviews_ministry": summary.by_organization.get("ministry", 0),
            "reviews_analytical_center": summary.by_organization.get("analytical_center", 0),
            "event_ids": " ".join(entry.event_ids),
        }
        for criterion in CRITERIA:
            average = summary.average_scores.get(criterion)
            row[f"average_{criterion}"] = words.number(average, 2) if average is not None else ""
        writer.writerow([row.get(column, "") for column in COLUMNS])
    manifest = document.manifest
    writer.writerow(
        [
            {
                "record": words("record_manifest"),
                "content_sha256": manifest.content_sha256,
                "as_of": format_timestamp(manifest.as_of),
                "event_count": manifest.event_count,
                "event_ids_sha256": manifest.event_ids_sha256,
            }.get(column, "")
            for column in COLUMNS
        ]
    )
    return buffer.getvalue()
