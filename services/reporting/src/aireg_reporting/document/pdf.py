"""The package document as PDF (fpdf2, pure Python): the figures and both charts drawn on the page, the
recommendations grouped by direction and question, the manifest on the last page, and the canonical
JSON document and its manifest attached inside the PDF, so the file alone can be checked.

Names and rationales may be in any script: the PDF embeds a Unicode TrueType font, the one named by
``AIREG_PDF_FONT_FILE`` or the first of the usual system fonts found (DejaVu, Liberation, Noto). With
none, it falls back to Helvetica, which shows characters outside Latin-1 as "?".
"""

from __future__ import annotations

import os
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from aireg_events.canonical import canonical_json, format_timestamp
from aireg_http.messages import Language
from aireg_reporting.document.charts import (
    BAR_COLOUR,
    POSITION_COLOURS,
    Bar,
    StackedBar,
    positions_per_question,
    proposals_per_direction,
)
from aireg_reporting.document.content import MeasureEntry, PackageDocument, Recommendation, document_json
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

FONT_CANDIDATES = [
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    ),
]
NAVY = (31, 58, 95)
MUTED = (91, 100, 112)
INK = (27, 31, 36)
LATE = (179, 38, 30)
MAX_LISTED_EVENT_IDS = 400


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def unicode_font() -> tuple[Path, Path | None] | None:
    """The (regular, bold) TrueType files to embed, or None when only the core fonts are there."""
    configured = os.environ.get("AIREG_PDF_FONT_FILE")
    if configured and Path(configured).is_file():
        bold = os.environ.get("AIREG_PDF_BOLD_FONT_FILE")
        return Path(configured), Path(bold) if bold and Path(bold).is_file() else None
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).is_file():
            return Path(regular), Path(bold) if Path(bold).is_file() else None
    return None


class _Pdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        self.body_family = "helvetica"
        self.has_unicode_font = False
        fonts = unicode_font()
        if fonts is not None:
            regular, bold = fonts
            self.add_font("body", "", str(regular))
            self.add_font("body", "B", str(bold or regular))
            self.body_family = "body"
            self.has_unicode_font = True
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=18)

    def text_of(self, value: str) -> str:
        if self.has_unicode_font:
            return value
        return value.encode("latin-1", "replace").decode("latin-1")

    def use(self, size: float, bold: bool = False, colour: tuple[int, int, int] = INK) -> None:
        self.set_font(self.body_family, "B" if bold else "", size)
        self.set_text_color(*colour)

    def fit(
        self, text: str, width: float, size: float, bold: bool = False, colour: tuple[int, int, int] = INK
    ) -> None:
        """Use the font at ``size``, or smaller so that ``text`` fits on one line of ``width``."""
        self.use(size, bold, colour)
        needed = self.get_string_width(self.text_of(text))
        if needed > width:
            self.use(max(5.5, size * width / needed), bold, colour)

    def footer(self) -> None:
        self.set_y(-12)
        room = self.w - self.l_margin - self.r_margin - 10
        self.fit(self.footer_text, room, 7.5, colour=MUTED)
        self.cell(room, 5, self.text_of(self.footer_text), align="L")
        self.use(7.5, colour=MUTED)
        self.cell(10, 5, f"{self.page_no()}", align="R")

    def pair(
        self,
        name: str,
        value: str,
        *,
        name_width: float,
        size: float,
        height: float,
        bold: bool = False,
        indent: float = 0.0,
    ) -> None:
        """A name and its value side by side, each wrapped in its column; the next pair starts below both."""
        self.use(size, colour=MUTED)
        wrapped = self.multi_cell(name_width, height, self.text_of(name), dry_run=True, output="LINES")
        lines = len(wrapped) if isinstance(wrapped, list) else 1
        if self.will_page_break(height * lines):
            self.add_page()
        top, page = self.get_y(), self.page
        self.set_x(self.l_margin + indent)
        self.multi_cell(name_width, height, self.text_of(name), align="L", new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.use(size, bold=bold)
        self.multi_cell(0, height, self.text_of(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if self.page == page:
            self.set_y(max(self.get_y(), top + height * lines))

    def line_of(
        self,
        text: str,
        size: float = 10,
        bold: bool = False,
        colour: tuple[int, int, int] = INK,
        height: float = 5.2,
    ) -> None:
        self.use(size, bold, colour)
        self.multi_cell(0, height, self.text_of(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str, size: float = 15) -> None:
        if self.will_page_break(55):
            self.add_page()
        self.ln(3)
        self.line_of(text, size, bold=True, colour=NAVY, height=size * 0.5)
        self.set_draw_color(*NAVY)
        self.set_line_width(0.3)
        self.line(self.l_margin, self.get_y() + 0.8, self.w - self.r_margin, self.get_y() + 0.8)
        self.ln(3)

    def grid(self, header: list[str], rows: list[list[str]], widths: list[float]) -> None:
        self.use(9, bold=True)
        self.set_fill_color(238, 242, 246)
        for index, (text, width) in enumerate(zip(header, widths, strict=True)):
            self.cell(width, 6.5, self.text_of(text), border="B", fill=True, align="R" if index else "L")
        self.ln(6.5)
        self.use(9)
        self.set_draw_color(216, 221, 227)
        for row in rows:
            if self.will_page_break(6):
                self.add_page()
            for index, (text, width) in enumerate(zip(row, widths, strict=True)):
                self.cell(width, 6, self.text_of(text), border="B", align="R" if index else "L")
            self.ln(6)
        self.ln(2)

    def bar_chart(self, title: str, bars: list[Bar]) -> None:
        self._chart_title(title, 8 + 7 * len(bars))
        label_width, row = self._label_room([bar.label for bar in bars], 62.0), 7.0
        room = self.w - self.l_margin - self.r_margin - label_width - 14
        scale = max([bar.value for bar in bars] + [1])
        top = self.get_y()
        for index, bar in enumerate(bars):
            y = top + index * row
            self.fit(bar.label, label_width - 3, 8.5)
            self.set_xy(self.l_margin, y)
            self.cell(label_width - 2, row, self.text_of(bar.label), align="R")
            length = room * bar.value / scale
            if length > 0:
                self.set_fill_color(*_hex(BAR_COLOUR))
                self.rect(self.l_margin + label_width, y + 1.2, length, row - 2.4, style="F")
            self.set_xy(self.l_margin + label_width + length + 1.5, y)
            self.use(8, colour=MUTED)
            self.cell(12, row, str(bar.value))
        self.set_xy(self.l_margin, top + row * len(bars) + 3)

    def stacked_chart(self, title: str, bars: list[StackedBar], words: Wording) -> None:
        self._chart_title(title, 14 + 7 * len(bars))
        x = self.l_margin
        for position, colour in POSITION_COLOURS.items():
            self.set_fill_color(*_hex(colour))
            self.rect(x, self.get_y() + 1, 3.5, 3.5, style="F")
            self.set_xy(x + 5, self.get_y())
            self.use(8.5)
            self.cell(28, 5.5, self.text_of(words.label(position)))
            x += 34
        self.ln(7)
        label_width, row = self._label_room([bar.label for bar in bars], 70.0), 7.0
        room = self.w - self.l_margin - self.r_margin - label_width - 14
        scale = max([bar.total for bar in bars] + [1])
        top = self.get_y()
        for index, bar in enumerate(bars):
            y = top + index * row
            self.fit(bar.label, label_width - 3, 8.5)
            self.set_xy(self.l_margin, y)
            self.cell(label_width - 2, row, self.text_of(bar.label), align="R")
            x = self.l_margin + label_width
            for position, count in bar.parts:
                if count:
                    length = room * count / scale
                    self.set_fill_color(*_hex(POSITION_COLOURS[position]))
                    self.rect(x, y + 1.2, length, row - 2.4, style="F")
                    x += length
            self.set_xy(x + 1.5, y)
            self.use(8, colour=MUTED)
            self.cell(12, row, str(bar.total))
        self.set_xy(self.l_margin, top + row * len(bars) + 3)

    def _label_room(self, labels: list[str], least: float) -> float:
        """Room for the longest label at 8.5 pt, at most half the line (the Russian names are long)."""
        self.use(8.5)
        longest = max([self.get_string_width(self.text_of(text)) for text in labels] + [0.0])
        return min(max(least, longest + 4), (self.w - self.l_margin - self.r_margin) / 2 + 10)

    def _chart_title(self, title: str, height: float) -> None:
        if self.will_page_break(height + 10):
            self.add_page()
        self.line_of(title, 11, bold=True)
        self.ln(1)


def _entry(pdf: _Pdf, words: Wording, entry: Recommendation) -> None:
    if pdf.will_page_break(40):
        pdf.add_page()
    pdf.set_draw_color(*NAVY)
    top = pdf.get_y()
    pdf.set_left_margin(pdf.l_margin + 3)
    pdf.line_of(f"{entry.registration_number}: {entry.title}", 10.5, bold=True)
    if entry.late:
        pdf.line_of(words("late_submission").upper(), 7.5, bold=True, colour=LATE, height=4)
    pdf.set_left_margin(pdf.l_margin - 3)
    facts = [
        (words("submitter"), f"{entry.submitter_name} ({words.label(entry.submitter_kind)})"),
        (words("proposes"), proposes_of(words, entry)),
        (words("directions"), ", ".join(words.label(value) for value in entry.directions)),
    ]
    if entry.positions:
        facts.append((words("positions"), positions_of(words, entry)))
    facts.append((words("summary"), entry.summary))
    outcome = outcome_of(words, entry)
    facts.append((words("outcome"), outcome + (f" — {entry.rationale}" if entry.rationale else "")))
    summary = entry.reviews_summary
    if summary.count:
        facts.append(
            (
                words("reviews"),
                words("reviews_line", count=words.number(summary.count), averages=averages_of(words, entry)),
            )
        )
        for review in entry.reviews:
            facts.append(
                (
                    "",
                    f"{words.label(review.organization)}, {review.reviewer}: "
                    f"{words.lower(review.recommendation)} — {review.rationale}",
                )
            )
    if entry.forwarded_at is not None:
        late = " " + words("forwarded_late") if entry.forwarding_late else ""
        facts.append((words("forwarded"), words.moment(entry.forwarded_at) + late))
    for name, value in facts:
        pdf.pair(name, value, name_width=30, size=8.5, height=4.6, bold=name == words("outcome"), indent=3)
    pdf.use(6.5, colour=MUTED)
    pdf.set_x(pdf.l_margin + 3)
    pdf.multi_cell(
        0,
        3.4,
        pdf.text_of(f"{words('sources')}: " + " ".join(entry.event_ids)),
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    bottom = pdf.get_y()
    if bottom > top:
        pdf.set_line_width(0.8)
        pdf.line(pdf.l_margin, top + 0.5, pdf.l_margin, bottom - 0.5)
    pdf.ln(3)


def _measure(pdf: _Pdf, words: Wording, entry: MeasureEntry) -> None:
    if pdf.will_page_break(40):
        pdf.add_page()
    label = words.label
    pdf.line_of(entry.title, 11, bold=True, colour=NAVY)
    where = ", ".join(label(value) for value in entry.application_areas) or words("measure_everywhere")
    facts = [
        (words("measure_regulates"), entry.description),
        (words("measure_where"), where),
        (
            words("measure_how"),
            words(
                "measure_how_text", instrument=label(entry.instrument), approach=words.lower(entry.approach)
            ),
        ),
        (words("measure_from_cost"), words.lower(entry.min_cost_of_error)),
    ]
    if entry.questions:
        facts.append((words("measure_questions"), ", ".join(label(value) for value in entry.questions)))
    facts += [
        (words("measure_risks_adoption"), risks_of(words, entry.risks_of_adoption)),
        (words("measure_risks_rejection"), risks_of(words, entry.risks_of_rejection)),
        (words("measure_tallies"), tallies_of(words, entry)),
    ]
    if entry.decision_rationale:
        facts.append((words("measure_decision"), f"{label(entry.status)} — {entry.decision_rationale}"))
    evidence = evidence_of(words, entry)
    facts.append((words("measure_evidence"), evidence[0] if evidence else words("measure_evidence_none")))
    facts += [("", line) for line in evidence[1:]]
    for name, value in facts:
        pdf.pair(
            name, value, name_width=42, size=8.5, height=4.6, bold=name == words("measure_tallies"), indent=3
        )
    pdf.ln(3)


def render_pdf(document: PackageDocument, language: Language) -> bytes:
    words = Wording.of(document, language)
    label, number = words.label, words.number
    content, manifest = document.document, document.manifest
    package, consultation, stats = content.package, content.consultation, content.statistics
    pdf = _Pdf(
        words(
            "footer",
            title=package.title,
            moment=words.moment(content.as_of),
            digest=manifest.content_sha256[:16],
        )
    )
    pdf.set_title(pdf.text_of(words("title", title=package.title)))
    pdf.set_subject(f"aireg government package {package.package_id}")
    pdf.set_keywords(f"content_sha256={manifest.content_sha256}")
    pdf.set_lang(language)
    pdf.set_creator("aireg reporting")
    pdf.set_creation_date(content.as_of)
    pdf.add_page()

    pdf.line_of(words("kicker").upper(), 9, bold=True, colour=MUTED)
    pdf.line_of(package.title, 20, bold=True, colour=NAVY, height=9)
    pdf.ln(2)
    meta = [
        (
            words("consultation"),
            f"{consultation.code} — {consultation.title}" if consultation else words("not_received"),
        ),
        (words("package"), package.package_id),
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
    for name, value in meta:
        pdf.pair(name, value, name_width=62, size=9.5, height=6)
    if consultation is not None:
        pdf.line_of(words.zone_sentence(), 8.5, colour=MUTED)

    pdf.heading(words("measures"))
    pdf.line_of(words("measures_intro" if content.measures else "measures_none"), 9, colour=MUTED)
    by_measure = {entry.measure_id: entry for entry in content.measures}
    for measure_group in content.measure_groups:
        pdf.heading(label(measure_group.direction), size=13)
        for measure_id in measure_group.measure_ids:
            _measure(pdf, words, by_measure[measure_id])

    pdf.heading(words("in_figures"))
    pdf.line_of(words("received", count=number(stats.proposals), late=number(stats.late_submissions)), 10)
    pdf.ln(2)
    pdf.stacked_chart(words("positions_per_question"), positions_per_question(stats, words), words)
    pdf.bar_chart(words("proposals_per_direction"), proposals_per_direction(stats, words))
    pdf.grid(
        [words("column_status"), words("column_proposals")],
        [[label(k), number(v)] for k, v in stats.by_status.items()],
        [120, 54],
    )
    pdf.line_of(words("compliance"), 11, bold=True)
    pdf.grid(compliance_header(words), compliance_rows(words, document), [46, 20, 22, 30, 26, 30])
    if stats.campaigns:
        pdf.line_of(words("campaigns"), 11, bold=True)
        pdf.grid(
            [words("column_campaign"), words("column_proposals")],
            [[c.representative_title or "—", number(c.size)] for c in stats.campaigns[:20]],
            [120, 54],
        )

    by_number = {entry.registration_number: entry for entry in content.recommendations}
    pdf.add_page()
    pdf.heading(words("annex"))
    pdf.line_of(words("by_direction_and_question"), 12, bold=True, colour=MUTED)
    for group in content.groups:
        pdf.heading(label(group.direction), size=13)
        for question in group.questions:
            pdf.line_of(label(question.question), 10.5, bold=True, colour=MUTED)
            pdf.ln(1)
            for registration in question.registration_numbers:
                _entry(pdf, words, by_number[registration])
        if group.also_concerning:
            pdf.line_of(words("also_concerning", numbers=", ".join(group.also_concerning)), 8.5, colour=MUTED)
            pdf.ln(2)

    pdf.add_page()
    pdf.heading(words("manifest"))
    pdf.line_of(words("manifest_hash") + ":", 9)
    pdf.line_of(manifest.content_sha256, 9.5, bold=True)
    pdf.line_of(words("canonical_form", form=words("canonical_form_description")), 8.5, colour=MUTED)
    pdf.ln(2)
    pdf.line_of(words("manifest_as_of", moment=format_timestamp(manifest.as_of)), 9)
    events = words.catalogue.plural("events", manifest.event_count)
    pdf.line_of(words("manifest_events", events=events, digest=manifest.event_ids_sha256), 9)
    pdf.ln(2)
    if manifest.event_count <= MAX_LISTED_EVENT_IDS:
        pdf.use(6.5, colour=MUTED)
        pdf.multi_cell(0, 3.2, "  ".join(manifest.event_ids), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:
        pdf.line_of(words("event_ids_attached", count=number(manifest.event_count)), 9)
    pdf.embed_file(
        bytes=document_json(document),
        basename="document.json",
        desc=pdf.text_of(words("attachment_document")),
        modification_date=content.as_of,
        creation_date=content.as_of,
    )
    pdf.embed_file(
        bytes=canonical_json(manifest.model_dump(mode="json")),
        basename="manifest.json",
        desc=pdf.text_of(words("attachment_manifest")),
        modification_date=content.as_of,
        creation_date=content.as_of,
    )
    return bytes(pdf.output())
