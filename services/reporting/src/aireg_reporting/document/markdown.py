"""The package document as Markdown: the same content and manifest as the JSON, for people and diffs."""

from __future__ import annotations

import re

from aireg_events.canonical import format_timestamp
from aireg_http.messages import Language
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

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|])")


def md(text: str) -> str:
    """Inline text from a submitter or reviewer, unable to change the document's structure."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _entry(words: Wording, entry: Recommendation) -> list[str]:
    late = f" — **{words('late_submission')}**" if entry.late else ""
    lines = [f"###### {md(entry.registration_number)}: {md(entry.title)}{late}", ""]
    lines.append(f"- {words('submitter')}: {md(entry.submitter_name)} ({words.label(entry.submitter_kind)})")
    lines.append(f"- {words('proposes')}: {proposes_of(words, entry)}")
    lines.append(f"- {words('directions')}: " + ", ".join(words.label(value) for value in entry.directions))
    if entry.positions:
        lines.append(f"- {words('positions')}: {positions_of(words, entry)}")
    lines.append(f"- {words('summary')}: {md(entry.summary)}")
    rationale = f" — {md(entry.rationale)}" if entry.rationale else ""
    lines.append(f"- **{words('outcome')}: {md(outcome_of(words, entry))}**{rationale}")
    summary = entry.reviews_summary
    if summary.count:
        organizations = ", ".join(
            f"{words.lower(k)} {words.number(v)}" for k, v in summary.by_organization.items()
        )
        count = f"{words.number(summary.count)} ({organizations})"
        lines.append(
            f"- {words('reviews')}: {words('reviews_line', count=count, averages=averages_of(words, entry))}"
        )
        for review in entry.reviews:
            lines.append(
                f"  - {words.label(review.organization)}, {md(review.reviewer)}: "
                f"{words.lower(review.recommendation)} — {md(review.rationale)} "
                f"({words('event')} `{review.event_id}`)"
            )
    else:
        lines.append(f"- {words('reviews')}: {words('reviews_none')}")
    if entry.forwarded_at is not None:
        late_forward = " " + words("forwarded_late") if entry.forwarding_late else ""
        lines.append(f"- {words('forwarded')}: {words.moment(entry.forwarded_at)}{late_forward}")
    lines.append(f"- {words('sources')}: " + ", ".join(f"`{event_id}`" for event_id in entry.event_ids))
    return lines + [""]


def _measure(words: Wording, entry: MeasureEntry) -> list[str]:
    label = words.label
    lines = [f"#### {md(entry.title)}", "", md(entry.description), ""]
    where = ", ".join(label(value) for value in entry.application_areas) or words("measure_everywhere")
    lines.append(f"- {words('measure_where')}: {where}")
    lines.append(
        f"- {words('measure_how')}: "
        + words("measure_how_text", instrument=label(entry.instrument), approach=words.lower(entry.approach))
    )
    lines.append(f"- {words('measure_from_cost')}: {words.lower(entry.min_cost_of_error)}")
    if entry.questions:
        lines.append(
            f"- {words('measure_questions')}: " + ", ".join(label(value) for value in entry.questions)
        )
    lines.append(f"- {words('measure_risks_adoption')}: {md(risks_of(words, entry.risks_of_adoption))}")
    lines.append(f"- {words('measure_risks_rejection')}: {md(risks_of(words, entry.risks_of_rejection))}")
    lines.append(f"- **{words('measure_tallies')}**: {tallies_of(words, entry)}")
    if entry.decision_rationale:
        lines.append(f"- {words('measure_decision')}: {label(entry.status)} — {md(entry.decision_rationale)}")
    lines.append(f"- {words('measure_evidence')}:")
    for line in evidence_of(words, entry):
        lines.append(f"  - {md(line)}")
    if not entry.evidence:
        lines.append(f"  - {words('measure_evidence_none')}")
    return lines + [""]


def render_markdown(document: PackageDocument, language: Language) -> str:
    words = Wording.of(document, language)
    content, manifest = document.document, document.manifest
    package, consultation, stats = content.package, content.consultation, content.statistics
    by_number = {entry.registration_number: entry for entry in content.recommendations}
    label, number = words.label, words.number
    lines = [f"# {words('title', title=md(package.title))}", ""]
    lines += _table(
        ["", ""],
        [
            [
                words("consultation"),
                f"{md(consultation.code)} — {md(consultation.title)}"
                if consultation
                else words("not_received"),
            ],
            [words("package"), f"`{package.package_id}`"],
            [words("status"), status_of(words, document)],
            [words("as_of"), words.moment(content.as_of)],
            [words("measures_in_package"), number(len(content.measures))],
            [words("proposals_in_package"), number(len(content.recommendations))],
            [words("content_sha256"), f"`{manifest.content_sha256}`"],
        ],
    )
    lines += [
        f"## {words('measures')}",
        "",
        words("measures_intro" if content.measures else "measures_none"),
        "",
    ]
    by_measure = {entry.measure_id: entry for entry in content.measures}
    for measure_group in content.measure_groups:
        lines += [f"### {label(measure_group.direction)}", ""]
        for measure_id in measure_group.measure_ids:
            lines += _measure(words, by_measure[measure_id])
    if consultation is not None:
        lines += [f"## {words('deadlines')}", ""]
        lines += _table(
            [words("deadline"), words("due")],
            [
                [label("submission_closes_at"), words.moment(consultation.submission_closes_at)],
                [label("analysis_due_at"), words.moment(consultation.analysis_due_at)],
                [label("forwarding_due_at"), words.moment(consultation.forwarding_due_at)],
            ],
        )
        lines += [words.zone_sentence(), ""]

    lines += [f"## {words('in_figures')}", ""]
    lines.append(
        words(
            "received", count=f"**{number(stats.proposals)}**", late=f"**{number(stats.late_submissions)}**"
        )
    )
    lines.append("")
    lines += _table(
        [words("column_status"), words("column_proposals")],
        [[label(k), number(v)] for k, v in stats.by_status.items()],
    )
    lines += [f"### {words('proposals_per_direction')}", ""]
    lines += _table(
        [words("column_direction"), words("column_proposals")],
        [[label(k), number(v)] for k, v in stats.by_direction.items()],
    )
    lines += [f"### {words('positions_per_question')}", ""]
    lines += _table(
        [words("column_question"), label("support"), label("conditional"), label("oppose")],
        [
            [
                label(q),
                number(p.get("support", 0)),
                number(p.get("conditional", 0)),
                number(p.get("oppose", 0)),
            ]
            for q, p in stats.positions.items()
        ],
    )
    lines += [f"### {words('submitters')}", ""]
    lines += _table(
        [words("column_kind"), words("column_proposals")],
        [[label(k), number(v)] for k, v in stats.by_submitter_kind.items()],
    )
    lines += [f"### {words('compliance')}", ""]
    lines += _table(compliance_header(words), compliance_rows(words, document))
    if stats.campaigns:
        lines += [f"### {words('campaigns')}", ""]
        lines += _table(
            [words("column_campaign"), words("column_proposals"), words("column_representative")],
            [
                [
                    md(c.representative_title or "—"),
                    number(c.size),
                    md(c.representative_registration_number or c.representative or "—"),
                ]
                for c in stats.campaigns
            ],
        )

    lines += [f"## {words('annex')}", "", f"### {words('by_direction_and_question')}", ""]
    for group in content.groups:
        lines += [f"#### {label(group.direction)}", ""]
        for question in group.questions:
            lines += [f"##### {label(question.question)}", ""]
            for registration in question.registration_numbers:
                lines += _entry(words, by_number[registration])
        if group.also_concerning:
            lines += [words("also_concerning", numbers=", ".join(md(n) for n in group.also_concerning)), ""]

    lines += [f"## {words('manifest')}", ""]
    lines += [
        f"- {words('manifest_hash')}: `{manifest.content_sha256}`",
        f"- {words('canonical_form', form=words('canonical_form_description'))}",
        f"- {words('manifest_as_of', moment=format_timestamp(manifest.as_of))}",
        "- "
        + words(
            "manifest_events",
            events=words.catalogue.plural("events", manifest.event_count),
            digest=f"`{manifest.event_ids_sha256}`",
        ),
        "",
        f"{words('event_ids')}:",
        "",
    ]
    lines += [f"    {event_id}" for event_id in manifest.event_ids]
    return "\n".join(lines) + "\n"
