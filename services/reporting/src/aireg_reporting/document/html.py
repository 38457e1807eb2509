"""The package document as one self-contained HTML page: inline CSS, inline SVG charts, no script and
nothing fetched from anywhere, printable as it is."""

from __future__ import annotations

from datetime import datetime
from html import escape

from aireg_events.canonical import format_timestamp
from aireg_reporting.document.charts import (
    bar_chart_svg,
    positions_per_question,
    proposals_per_direction,
    stacked_bar_svg,
)
from aireg_reporting.document.content import PackageDocument, Recommendation
from aireg_reporting.document.labels import label, moment

DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"

_STYLE = """
:root { --ink: #1b1f24; --muted: #5b6470; --line: #d8dde3; --navy: #1f3a5f; --late: #b3261e; }
* { box-sizing: border-box; }
body { font: 15px/1.5 "Helvetica Neue", Helvetica, Arial, sans-serif; color: var(--ink); margin: 0;
       background: #f4f6f8; }
main { max-width: 960px; margin: 0 auto; background: #fff; padding: 48px 56px; }
header { border-bottom: 3px solid var(--navy); margin-bottom: 24px; padding-bottom: 16px; }
header .kicker { text-transform: uppercase; letter-spacing: .08em; color: var(--muted); font-size: 12px; }
h1 { font-size: 26px; margin: 6px 0 4px; color: var(--navy); }
h2 { font-size: 20px; margin: 36px 0 12px; color: var(--navy); border-bottom: 1px solid var(--line);
     padding-bottom: 4px; }
h3 { font-size: 17px; margin: 28px 0 8px; }
h4 { font-size: 15px; margin: 18px 0 8px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef2f6; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.meta td:first-child { color: var(--muted); width: 30%; }
.charts { display: grid; gap: 24px; margin: 16px 0; }
.entry { border: 1px solid var(--line); border-left: 4px solid var(--navy); border-radius: 4px;
         padding: 12px 16px; margin: 12px 0; break-inside: avoid; }
.entry h5 { font-size: 15px; margin: 0 0 6px; }
.entry dl { display: grid; grid-template-columns: 170px 1fr; gap: 2px 12px; margin: 0; font-size: 14px; }
.entry dt { color: var(--muted); }
.entry dd { margin: 0; }
.late { color: #fff; background: var(--late); font-size: 11px; padding: 1px 6px; border-radius: 3px;
        text-transform: uppercase; letter-spacing: .05em; vertical-align: middle; }
.outcome { font-weight: 600; }
.sources, code { font: 11px/1.4 "DejaVu Sans Mono", Menlo, monospace; color: var(--muted);
                 word-break: break-all; }
.reviews { margin: 4px 0 0; padding-left: 18px; }
footer { margin-top: 36px; font-size: 13px; }
footer .hash { font: 13px "DejaVu Sans Mono", Menlo, monospace; word-break: break-all; }
details { margin-top: 8px; }
@media print { body { background: #fff; } main { padding: 0; } }
"""


def _when(value: datetime | None) -> str:
    return moment(value)


def _table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    head = "".join(
        f'<th class="n">{escape(cell)}</th>' if index >= numeric_from else f"<th>{escape(cell)}</th>"
        for index, cell in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(cell)}</td>' if index >= numeric_from else f"<td>{escape(cell)}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _entry(entry: Recommendation) -> str:
    late = ' <span class="late">late submission</span>' if entry.late else ""
    outcome = label(entry.outcome) if entry.outcome else "Not assessed yet"
    if entry.merged_into_registration_number:
        outcome += f" into {entry.merged_into_registration_number}"
    if entry.assessment_late:
        outcome += " (assessed after the analysis deadline)"
    rows = [
        ("Submitter", f"{escape(entry.submitter_name)} ({escape(label(entry.submitter_kind))})"),
        (
            "Proposes",
            escape(
                f"{label(entry.instrument)}; approach {label(entry.approach).lower()}; "
                f"cost of an AI error {label(entry.cost_of_error).lower()}"
            ),
        ),
        ("Directions", escape(", ".join(label(value) for value in entry.directions))),
    ]
    if entry.positions:
        rows.append(
            (
                "Positions",
                escape("; ".join(f"{label(q)}: {label(p).lower()}" for q, p in entry.positions.items())),
            )
        )
    rows.append(("Summary", escape(entry.summary)))
    rows.append(
        (
            "Outcome",
            f'<span class="outcome">{escape(outcome)}</span>'
            + (f" — {escape(entry.rationale)}" if entry.rationale else ""),
        )
    )
    summary = entry.reviews_summary
    if summary.count:
        averages = ", ".join(f"{label(k).lower()} {v:.2f}" for k, v in summary.average_scores.items())
        reviews = "".join(
            f"<li>{escape(label(review.organization))}, {escape(review.reviewer)}: "
            f"{escape(label(review.recommendation).lower())} — {escape(review.rationale)}</li>"
            for review in entry.reviews
        )
        rows.append(
            (
                "Reviews",
                f'{summary.count}; average scores: {escape(averages)}<ul class="reviews">{reviews}</ul>',
            )
        )
    else:
        rows.append(("Reviews", "none"))
    if entry.forwarded_at is not None:
        late_forward = " (after the forwarding deadline)" if entry.forwarding_late else ""
        rows.append(("Forwarded", escape(_when(entry.forwarded_at) + late_forward)))
    rows.append(("Sources", f'<span class="sources">{escape(" ".join(entry.event_ids))}</span>'))
    details = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return (
        f'<article class="entry" id="{escape(entry.registration_number)}">'
        f"<h5>{escape(entry.registration_number)}: {escape(entry.title)}{late}</h5><dl>{details}</dl></article>"
    )


def render_html(document: PackageDocument) -> str:
    content, manifest = document.document, document.manifest
    package, consultation, stats = content.package, content.consultation, content.statistics
    by_number = {entry.registration_number: entry for entry in content.recommendations}
    status = (
        f"Submitted to the government {_when(package.submitted_at)}" + (" (late)" if package.late else "")
        if package.status == "submitted"
        else "Open: a draft, not submitted yet"
    )
    meta = [
        (
            "Consultation",
            f"{consultation.code} — {consultation.title}" if consultation else "(not received yet)",
        ),
        ("Package", f"{package.package_id}"),
        ("Status", status),
        ("As of", _when(content.as_of)),
        ("Proposals in the package", str(len(content.recommendations))),
    ]
    if consultation is not None:
        meta += [
            ("Proposals accepted until", _when(consultation.submission_closes_at)),
            ("Analysis due", _when(consultation.analysis_due_at)),
            ("Forwarding due", _when(consultation.forwarding_due_at)),
        ]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Recommendations to the Government: {escape(package.title)}</title>",
        f'<meta name="aireg-content-sha256" content="{manifest.content_sha256}">',
        f"<style>{_STYLE}</style></head><body><main>",
        '<header><div class="kicker">Recommendations to the Government</div>',
        f"<h1>{escape(package.title)}</h1></header>",
        '<table class="meta"><tbody>'
        + "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in meta)
        + "</tbody></table>",
        "<h2>The call in figures</h2>",
        f"<p>Proposals received: <strong>{stats.proposals}</strong>, of which late: "
        f"<strong>{stats.late_submissions}</strong>.</p>",
        '<section class="charts">',
        stacked_bar_svg("Positions per question", positions_per_question(stats)),
        bar_chart_svg("Proposals per direction", proposals_per_direction(stats)),
        "</section>",
        _table(["Status", "Proposals"], [[label(k), str(v)] for k, v in stats.by_status.items()]),
        _table(
            ["Submitter kind", "Proposals"], [[label(k), str(v)] for k, v in stats.by_submitter_kind.items()]
        ),
    ]
    compliance = stats.deadline_compliance
    parts.append("<h3>Deadline compliance</h3>")
    parts.append(
        _table(
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
    )
    if stats.campaigns:
        parts.append("<h3>Mass campaigns</h3>")
        parts.append(
            _table(
                ["Campaign", "Proposals", "Representative"],
                [
                    [
                        c.campaign_id,
                        str(c.size),
                        c.representative_registration_number or c.representative or "—",
                    ]
                    for c in stats.campaigns
                ],
                numeric_from=1,
            )
        )
    parts.append("<h2>Recommendations by direction and question</h2>")
    for group in content.groups:
        parts.append(f"<h3>{escape(label(group.direction))}</h3>")
        for question in group.questions:
            parts.append(f"<h4>{escape(label(question.question))}</h4>")
            parts.extend(_entry(by_number[number]) for number in question.registration_numbers)
        if group.also_concerning:
            parts.append(
                "<p>Also concerning this direction: "
                + ", ".join(f'<a href="#{escape(n)}">{escape(n)}</a>' for n in group.also_concerning)
                + "</p>"
            )
    parts.append(
        "<footer><h2>Manifest</h2>"
        f'<p>Content SHA-256: <span class="hash">{manifest.content_sha256}</span><br>'
        f"({escape(manifest.canonical_form)}; the <code>document</code> of the JSON rendering)</p>"
        f"<p>As of {format_timestamp(manifest.as_of)}; built from {manifest.event_count} events; SHA-256 of their sorted "
        f'ids: <span class="hash">{manifest.event_ids_sha256}</span></p>'
        f'<details><summary>Event ids</summary><pre class="sources">{escape(chr(10).join(manifest.event_ids))}'
        "</pre></details></footer>"
    )
    parts.append("</main></body></html>")
    return "\n".join(parts)
