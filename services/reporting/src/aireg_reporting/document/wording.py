"""The language and time zone one rendering of the package document speaks in: the words come from the
message catalogue (``aireg_http.messages``), moments are written in the consultation's zone, the zone
named. The JSON content is the same in every language; only its renderings change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aireg_events.catalogue.analysis import Risk
from aireg_http.messages import DEFAULT_TIME_ZONE, Catalogue, Language, catalogue
from aireg_reporting.document.content import MeasureEntry, PackageDocument, Recommendation


@dataclass(frozen=True)
class Wording:
    catalogue: Catalogue
    zone: str

    @classmethod
    def of(cls, document: PackageDocument, language: Language) -> Wording:
        consultation = document.document.consultation
        return cls(catalogue(language), consultation.time_zone if consultation else DEFAULT_TIME_ZONE)

    @property
    def language(self) -> Language:
        return self.catalogue.language

    def __call__(self, key: str, **values: object) -> str:
        """The document's text ``document.<key>``."""
        return self.catalogue.text(f"document.{key}", **values)

    def label(self, value: str | None) -> str:
        return self.catalogue.label(value)

    def lower(self, value: str | None) -> str:
        """A label inside a sentence: lower case first letter, unless it opens an acronym (AI, ИИ)."""
        text = self.label(value)
        return text if text[1:2].isupper() else text[:1].lower() + text[1:]

    def moment(self, value: datetime | None) -> str:
        return self.catalogue.moment(value, self.zone)

    def zone_sentence(self) -> str:
        """Which zone the deadlines are in: "MSK (Europe/Moscow)", or "UTC" where the two names agree."""
        name = self.catalogue.zone_name(self.zone)
        return self("time_zone", zone=name if name == self.zone else f"{name} ({self.zone})")

    def number(self, value: float, decimals: int | None = None) -> str:
        return self.catalogue.number(value, decimals)


# --- the sentences every rendering shares ---------------------------------------------------------


def outcome_of(words: Wording, entry: Recommendation) -> str:
    """The outcome line of an entry."""
    outcome = words.label(entry.outcome) if entry.outcome else words("not_assessed")
    if entry.merged_into_registration_number:
        outcome += " " + words("merged_into", number=entry.merged_into_registration_number)
    if entry.assessment_late:
        outcome += " " + words("assessed_late")
    return outcome


def proposes_of(words: Wording, entry: Recommendation) -> str:
    return words(
        "proposes_text",
        instrument=words.label(entry.instrument),
        approach=words.lower(entry.approach),
        cost=words.lower(entry.cost_of_error),
    )


def positions_of(words: Wording, entry: Recommendation) -> str:
    return "; ".join(f"{words.label(q)}: {words.lower(p)}" for q, p in entry.positions.items())


def averages_of(words: Wording, entry: Recommendation) -> str:
    return ", ".join(
        f"{words.lower(k)} {words.number(v, 2)}" for k, v in entry.reviews_summary.average_scores.items()
    )


def status_of(words: Wording, document: PackageDocument) -> str:
    package = document.document.package
    if package.status != "submitted":
        return words("open_draft")
    return words("submitted_on", moment=words.moment(package.submitted_at)) + (
        " " + words("submitted_late") if package.late else ""
    )


def compliance_header(words: Wording) -> list[str]:
    return [
        words(name)
        for name in (
            "column_work",
            "column_total",
            "column_on_time",
            "column_late",
            "column_pending",
            "column_overdue",
        )
    ]


def compliance_rows(words: Wording, document: PackageDocument) -> list[list[str]]:
    """The deadline compliance table's two rows."""
    compliance = document.document.statistics.deadline_compliance
    analysis, forwarding = compliance.analysis, compliance.forwarding
    number = words.number
    return [
        [
            words("work_assessment"),
            number(analysis.work),
            number(analysis.assessed_on_time),
            number(analysis.assessed_late),
            number(analysis.pending),
            number(analysis.overdue),
        ],
        [
            words("work_forwarding"),
            number(forwarding.work),
            number(forwarding.forwarded_on_time),
            number(forwarding.forwarded_late),
            number(forwarding.pending),
            number(forwarding.overdue),
        ],
    ]


def risks_of(words: Wording, risks: Sequence[Risk]) -> str:
    """Risks as a sentence: each with its severity; "none recorded" when there are none."""
    if not risks:
        return words("measure_risks_none")
    return "; ".join(
        words("measure_risk", description=risk.description, severity=words.lower(risk.severity.value))
        for risk in risks
    )


def tallies_of(words: Wording, entry: MeasureEntry) -> str:
    """Support, opposition and information in voices (a campaign once) and signatories."""
    if entry.tallies is None:
        return words("measure_tallies_pending")
    return "; ".join(
        words(
            "measure_tally",
            stance=words.label(stance),
            voices=words.number(tally.voices),
            signatories=words.number(tally.signatories),
        )
        for stance, tally in entry.tallies.items()
    )


def evidence_of(words: Wording, entry: MeasureEntry) -> list[str]:
    """One line per proposal behind a measure: number, title, stance, and the campaign it stands for by its
    representative's title and size (never by an id)."""
    lines = []
    for line in entry.evidence:
        text = f"{line.registration_number}: {line.title} — {words.lower(line.stance)} ({words.lower(line.submitter_kind)})"
        if line.campaign is not None:
            text += "; " + words(
                "measure_campaign",
                title=line.campaign.representative_title,
                number=line.campaign.representative_registration_number,
                size=words.number(line.campaign.size),
            )
        lines.append(text)
    return lines
