"""The package document as Markdown: the same content and manifest as the JSON, for people and diffs."""

from __future__ import annotations

import re
from datetime import datetime

from aireg_events.canonical import format_timestamp
from aireg_reporting.document.content import PackageDocument, Recommendation
from aireg_reporting.document.labels import label, moment

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|])")


def md(text: str) -> str:
    """Inline text from a submitter or reviewer, unable to change the document's structure."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _when(value: datetime | None) -> str:
    return moment(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _entry(entry: Recommendation) -> list[str]:
    late = " — **late submission**" if entry.late else ""
    lines = [f"##### {md(entry.registration_number)}: {md(entry.title)}{late}", ""]
    lines.append(f"- Submitter: {md(entry.submitter_name)} ({label(entry.submitter_kind)})")
    lines.append(
        f"- Proposes: {label(entry.instrument)}; approach {label(entry.approach).lower()}; "
        f"cost of an AI error {label(entry.cost_of_error).lower()}"
    )
    lines.append("- Directions: " + ", ".join(label(value) for value in entry.directions))
    if entry.positions:
        lines.append(
            "- Positions: " + "; ".join(f"{label(q)}: {label(p).lower()}" for q, p in entry.positions.items())
        )
    lines.append(f"- Summary: {md(entry.summary)}")
    outcome = label(entry.outcome) if entry.outcome else "not assessed yet"
    if entry.merged_into_registration_number:
        outcome += f" into {md(entry.merged_into_registration_number)}"
    if entry.assessment_late:
        outcome += " (assessed after the analysis deadline)"
    lines.append(f"- **Outcome: {outcome}**" + (f" — {md(entry.rationale)}" if entry.rationale else ""))
    summary = entry.reviews_summary
    if summary.count:
        organizations = ", ".join(f"{label(k).lower()} {v}" for k, v in summary.by_organization.items())
        averages = ", ".join(f"{label(k).lower()} {v:.2f}" for k, v in summary.average_scores.items())
        lines.append(f"- Reviews: {summary.count} ({organizations}); average scores: {averages}")
        for review in entry.reviews:
            lines.append(
                f"  - {label(review.organization)}, {md(review.reviewer)}: {label(review.recommendation).lower()} "
                f"— {md(review.rationale)} (event `{review.event_id}`)"
            )
    else:
        lines.append("- Reviews: none")
    if entry.forwarded_at is not None:
        late_forward = " (after the forwarding deadline)" if entry.forwarding_late else ""
        lines.append(f"- Forwarded to the government: {_when(entry.forwarded_at)}{late_forward}")
    lines.append("- Sources: " + ", ".join(f"`{event_id}`" for event_id in entry.event_ids))
    return lines + [""]


def render_markdown(document: PackageDocument) -> str:
    content, manifest = document.document, document.manifest
    package, consultation, stats = content.package, content.consultation, content.statistics
    by_number = {entry.registration_number: entry for entry in content.recommendations}
    status = (
        f"submitted to the government {_when(package.submitted_at)}" + (" (late)" if package.late else "")
        if package.status == "submitted"
        else "open (draft, not submitted yet)"
    )
    lines = [f"# Recommendations to the Government: {md(package.title)}", ""]
    lines += _table(
        ["", ""],
        [
            [
                "Consultation",
                f"{md(consultation.code)} — {md(consultation.title)}"
                if consultation
                else "(not received yet)",
            ],
            ["Package", f"`{package.package_id}`, {status}"],
            ["As of", _when(content.as_of)],
            ["Proposals in the package", str(len(content.recommendations))],
            ["Content SHA-256", f"`{manifest.content_sha256}`"],
        ],
    )
    if consultation is not None:
        lines += ["## Deadlines", ""]
        lines += _table(
            ["Deadline", "Due"],
            [
                ["Proposals accepted until", _when(consultation.submission_closes_at)],
                ["Analysis due", _when(consultation.analysis_due_at)],
                ["Forwarding to the government due", _when(consultation.forwarding_due_at)],
            ],
        )

    lines += ["## The call in figures", ""]
    lines.append(f"Proposals received: **{stats.proposals}**, of which late: **{stats.late_submissions}**.")
    lines.append("")
    lines += _table(["Status", "Proposals"], [[label(k), str(v)] for k, v in stats.by_status.items()])
    lines += ["### Proposals per direction", ""]
    lines += _table(["Direction", "Proposals"], [[label(k), str(v)] for k, v in stats.by_direction.items()])
    lines += ["### Positions per question", ""]
    lines += _table(
        ["Question", "Support", "Conditional", "Oppose"],
        [
            [label(q), str(p.get("support", 0)), str(p.get("conditional", 0)), str(p.get("oppose", 0))]
            for q, p in stats.positions.items()
        ],
    )
    lines += ["### Submitters", ""]
    lines += _table(["Kind", "Proposals"], [[label(k), str(v)] for k, v in stats.by_submitter_kind.items()])
    compliance = stats.deadline_compliance
    lines += ["### Deadline compliance", ""]
    lines += _table(
        ["Work", "Total", "On time", "Late", "Pending", "Overdue"],
        [
            [
                "Assessment",
                str(compliance.analysis.work),
                str(compliance.analysis.assessed_on_time),
                str(compliance.analysis.assessed_late),
                str(compliance.analysis.pending),
                str(compliance.analysis.overdue),
            ],
            [
                "Forwarding",
                str(compliance.forwarding.work),
                str(compliance.forwarding.forwarded_on_time),
                str(compliance.forwarding.forwarded_late),
                str(compliance.forwarding.pending),
                str(compliance.forwarding.overdue),
            ],
        ],
    )
    if stats.campaigns:
        lines += ["### Mass campaigns", ""]
        lines += _table(
            ["Campaign", "Proposals", "Representative"],
            [
                [
                    md(c.campaign_id),
                    str(c.size),
                    md(c.representative_registration_number or c.representative or "—"),
                ]
                for c in stats.campaigns
            ],
        )

    lines += ["## Recommendations by direction and question", ""]
    for group in content.groups:
        lines += [f"### {label(group.direction)}", ""]
        for question in group.questions:
            lines += [f"#### {label(question.question)}", ""]
            for number in question.registration_numbers:
                lines += _entry(by_number[number])
        if group.also_concerning:
            lines += [
                "Also concerning this direction: " + ", ".join(md(n) for n in group.also_concerning),
                "",
            ]

    lines += ["## Manifest", ""]
    lines += [
        f"- Content SHA-256: `{manifest.content_sha256}` ({manifest.canonical_form}; "
        "the `document` of the JSON rendering)",
        f"- As of: {format_timestamp(manifest.as_of)} (ask for `?as_of=` this moment to get this document again)",
        f"- Built from {manifest.event_count} events; SHA-256 of their sorted ids: `{manifest.event_ids_sha256}`",
        "",
        "Event ids:",
        "",
    ]
    lines += [f"    {event_id}" for event_id in manifest.event_ids]
    return "\n".join(lines) + "\n"
