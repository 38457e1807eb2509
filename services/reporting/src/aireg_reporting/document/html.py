"""The package document as one self-contained HTML page: inline CSS, inline SVG charts, no script and
nothing fetched from anywhere, printable as it is."""

from __future__ import annotations

from html import escape

from aireg_events.canonical import format_timestamp
from aireg_http.messages import Language
from aireg_reporting.document.charts import (
    bar_chart_svg,
    positions_per_question,
    proposals_per_direction,
    stacked_bar_svg,
)
from aireg_reporting.document.content import MeasureEntry, PackageDocument, Recommendation
from aireg_reporting.document.wording import (
    Wording,
    averages_of,
    compliance_header,
    compliance_rows,
    evidence_of,
    outcome_of,
    positions_of,
    proposes_of,
    risks_of,
    status_of,
    tallies_of,
)

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
.zone { color: var(--muted); font-size: 13px; }
@media print { body { background: #fff; } main { padding: 0; } }
"""


def _markup(words: Wording, key: str, **markup: str) -> str:
    """The document's text ``key``, escaped, with ``markup`` (HTML already) in its placeholders."""
    slots = {name: f"\x00{index}\x00" for index, name in enumerate(markup)}
    text = escape(words(key, **slots))
    for name, slot in slots.items():
        text = text.replace(slot, markup[name])
    return text


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


def _entry(words: Wording, entry: Recommendation) -> str:
    late = f' <span class="late">{escape(words("late_submission"))}</span>' if entry.late else ""
    rows = [
        (
            words("submitter"),
            f"{escape(entry.submitter_name)} ({escape(words.label(entry.submitter_kind))})",
        ),
        (words("proposes"), escape(proposes_of(words, entry))),
        (words("directions"), escape(", ".join(words.label(value) for value in entry.directions))),
    ]
    if entry.positions:
        rows.append((words("positions"), escape(positions_of(words, entry))))
    rows.append((words("summary"), escape(entry.summary)))
    rows.append(
        (
            words("outcome"),
            f'<span class="outcome">{escape(outcome_of(words, entry))}</span>'
            + (f" — {escape(entry.rationale)}" if entry.rationale else ""),
        )
    )
    summary = entry.reviews_summary
    if summary.count:
        reviews = "".join(
            f"<li>{escape(words.label(review.organization))}, {escape(review.reviewer)}: "
            f"{escape(words.lower(review.recommendation))} — {escape(review.rationale)}</li>"
            for review in entry.reviews
        )
        line = words("reviews_line", count=words.number(summary.count), averages=averages_of(words, entry))
        rows.append((words("reviews"), f'{escape(line)}<ul class="reviews">{reviews}</ul>'))
    else:
        rows.append((words("reviews"), escape(words("reviews_none"))))
    if entry.forwarded_at is not None:
        late_forward = " " + words("forwarded_late") if entry.forwarding_late else ""
        rows.append((words("forwarded"), escape(words.moment(entry.forwarded_at) + late_forward)))
    rows.append((words("sources"), f'<span class="sources">{escape(" ".join(entry.event_ids))}</span>'))
    details = "".join(f"<dt>{escape(name)}</dt><dd>{value}</dd>" for name, value in rows)
    return (
        f'<article class="entry" id="{escape(entry.registration_number)}">'
        f"<h5>{escape(entry.registration_number)}: {escape(entry.title)}{late}</h5><dl>{details}</dl></article>"
    )


def _measure(words: Wording, entry: MeasureEntry) -> str:
    label = words.label
    where = ", ".join(label(value) for value in entry.application_areas) or words("measure_everywhere")
    how = words("measure_how_text", instrument=label(entry.instrument), approach=words.lower(entry.approach))
    rows = [
        (words("measure_regulates"), escape(entry.description)),
        (words("measure_where"), escape(where)),
        (words("measure_how"), escape(how)),
        (words("measure_from_cost"), escape(words.lower(entry.min_cost_of_error))),
    ]
    if entry.questions:
        rows.append(
            (words("measure_questions"), escape(", ".join(label(value) for value in entry.questions)))
        )
    rows += [
        (words("measure_risks_adoption"), escape(risks_of(words, entry.risks_of_adoption))),
        (words("measure_risks_rejection"), escape(risks_of(words, entry.risks_of_rejection))),
        (words("measure_tallies"), f"<strong>{escape(tallies_of(words, entry))}</strong>"),
    ]
    if entry.decision_rationale:
        rows.append(
            (words("measure_decision"), escape(f"{label(entry.status)} — {entry.decision_rationale}"))
        )
    evidence = "".join(f"<li>{escape(line)}</li>" for line in evidence_of(words, entry))
    rows.append(
        (
            words("measure_evidence"),
            f"<ul>{evidence}</ul>" if evidence else escape(words("measure_evidence_none")),
        )
    )
    details = "".join(f"<dt>{escape(name)}</dt><dd>{value}</dd>" for name, value in rows)
    return f'<article class="entry measure"><h4>{escape(entry.title)}</h4><dl>{details}</dl></article>'


def render_html(document: PackageDocument, language: Language) -> str:
    words = Wording.of(document, language)
    label, number = words.label, words.number
    content, manifest = document.document, document.manifest
    package, consultation, stats = content.package, content.consultation, content.statistics
    by_number = {entry.registration_number: entry for entry in content.recommendations}
    meta = [
        (
            words("consultation"),
            f"{consultation.code} — {consultation.title}" if consultation else words("not_received"),
        ),
        (words("package"), f"{package.package_id}"),
        (words("status"), status_of(words, document)),
        (words("as_of"), words.moment(content.as_of)),
        (words("measures_in_package"), number(len(content.measures))),
        (words("proposals_in_package"), number(len(content.recommendations))),
    ]
    if consultation is not None:
        meta += [
            (label("submission_closes_at"), words.moment(consultation.submission_closes_at)),
            (label("analysis_due_at"), words.moment(consultation.analysis_due_at)),
            (label("forwarding_due_at"), words.moment(consultation.forwarding_due_at)),
        ]
    parts = [
        "<!doctype html>",
        f'<html lang="{words.language}"><head><meta charset="utf-8">',
        f"<title>{escape(words('title', title=package.title))}</title>",
        f'<meta name="aireg-content-sha256" content="{manifest.content_sha256}">',
        f"<style>{_STYLE}</style></head><body><main>",
        f'<header><div class="kicker">{escape(words("kicker"))}</div>',
        f"<h1>{escape(package.title)}</h1></header>",
        '<table class="meta"><tbody>'
        + "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in meta)
        + "</tbody></table>",
    ]
    if consultation is not None:
        parts.append(f'<p class="zone">{escape(words.zone_sentence())}</p>')
    parts.append(f"<h2>{escape(words('measures'))}</h2>")
    parts.append(f"<p>{escape(words('measures_intro' if content.measures else 'measures_none'))}</p>")
    by_measure = {entry.measure_id: entry for entry in content.measures}
    for measure_group in content.measure_groups:
        parts.append(f"<h3>{escape(label(measure_group.direction))}</h3>")
        parts.extend(_measure(words, by_measure[measure_id]) for measure_id in measure_group.measure_ids)
    received = _markup(
        words,
        "received",
        count=f"<strong>{number(stats.proposals)}</strong>",
        late=f"<strong>{number(stats.late_submissions)}</strong>",
    )
    parts += [
        f"<h2>{escape(words('in_figures'))}</h2>",
        f"<p>{received}</p>",
        '<section class="charts">',
        stacked_bar_svg(words("positions_per_question"), positions_per_question(stats, words), words),
        bar_chart_svg(words("proposals_per_direction"), proposals_per_direction(stats, words)),
        "</section>",
        _table(
            [words("column_status"), words("column_proposals")],
            [[label(k), number(v)] for k, v in stats.by_status.items()],
        ),
        _table(
            [words("column_kind"), words("column_proposals")],
            [[label(k), number(v)] for k, v in stats.by_submitter_kind.items()],
        ),
    ]
    parts.append(f"<h3>{escape(words('compliance'))}</h3>")
    parts.append(_table(compliance_header(words), compliance_rows(words, document)))
    if stats.campaigns:
        parts.append(f"<h3>{escape(words('campaigns'))}</h3>")
        parts.append(
            _table(
                [words("column_campaign"), words("column_proposals"), words("column_representative")],
                [
                    [
                        c.representative_title or "—",
                        number(c.size),
                        c.representative_registration_number or c.representative or "—",
                    ]
                    for c in stats.campaigns
                ],
                numeric_from=1,
            )
        )
    parts.append(f"<h2>{escape(words('annex'))}</h2>")
    parts.append(f"<h2>{escape(words('by_direction_and_question'))}</h2>")
    for group in content.groups:
        parts.append(f"<h3>{escape(label(group.direction))}</h3>")
        for question in group.questions:
            parts.append(f"<h4>{escape(label(question.question))}</h4>")
            parts.extend(_entry(words, by_number[n]) for n in question.registration_numbers)
        if group.also_concerning:
            links = ", ".join(f'<a href="#{escape(n)}">{escape(n)}</a>' for n in group.also_concerning)
            parts.append(f"<p>{_markup(words, 'also_concerning', numbers=links)}</p>")
    events = words.catalogue.plural("events", manifest.event_count)
    parts.append(
        f"<footer><h2>{escape(words('manifest'))}</h2>"
        f"<p>{escape(words('manifest_hash'))}:<br>"
        f'<span class="hash">{manifest.content_sha256}</span><br>'
        f"{escape(words('canonical_form', form=words('canonical_form_description')))}</p>"
        f"<p>{escape(words('manifest_as_of', moment=format_timestamp(manifest.as_of)))}<br>"
        + _markup(
            words,
            "manifest_events",
            events=escape(events),
            digest=f'<span class="hash">{manifest.event_ids_sha256}</span>',
        )
        + "</p>"
        f"<details><summary>{escape(words('event_ids'))}</summary>"
        f'<pre class="sources">{escape(chr(10).join(manifest.event_ids))}</pre></details></footer>'
    )
    parts.append("</main></body></html>")
    return "\n".join(parts)
