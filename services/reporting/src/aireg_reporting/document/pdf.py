"""The package document as PDF (fpdf2, pure Python): the figures and both charts drawn on the page, the
recommendations grouped by direction and question, the manifest on the last page, and the canonical
JSON document and its manifest attached inside the PDF, so the file alone can be checked.

Names and rationales may be in any script: the PDF embeds a Unicode TrueType font, the one named by
``AIREG_PDF_FONT_FILE`` or the first of the usual system fonts found (DejaVu, Liberation, Noto). With
none, it falls back to Helvetica, which shows characters outside Latin-1 as "?".
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from aireg_events.canonical import canonical_json, format_timestamp
from aireg_reporting.document.charts import (
    BAR_COLOUR,
    POSITION_COLOURS,
    Bar,
    StackedBar,
    positions_per_question,
    proposals_per_direction,
)
from aireg_reporting.document.content import PackageDocument, Recommendation, document_json
from aireg_reporting.document.labels import label, moment

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

    def footer(self) -> None:
        self.set_y(-12)
        self.use(7.5, colour=MUTED)
        self.cell(0, 5, self.text_of(self.footer_text), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"{self.page_no()}", align="R")

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
        label_width, row = 62.0, 7.0
        room = self.w - self.l_margin - self.r_margin - label_width - 14
        scale = max([bar.value for bar in bars] + [1])
        top = self.get_y()
        for index, bar in enumerate(bars):
            y = top + index * row
            self.use(8.5)
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

    def stacked_chart(self, title: str, bars: list[StackedBar]) -> None:
        self._chart_title(title, 14 + 7 * len(bars))
        x = self.l_margin
        for position, colour in POSITION_COLOURS.items():
            self.set_fill_color(*_hex(colour))
            self.rect(x, self.get_y() + 1, 3.5, 3.5, style="F")
            self.set_xy(x + 5, self.get_y())
            self.use(8.5)
            self.cell(28, 5.5, label(position))
            x += 34
        self.ln(7)
        label_width, row = 70.0, 7.0
        room = self.w - self.l_margin - self.r_margin - label_width - 14
        scale = max([bar.total for bar in bars] + [1])
        top = self.get_y()
        for index, bar in enumerate(bars):
            y = top + index * row
            self.use(8.5)
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

    def _chart_title(self, title: str, height: float) -> None:
        if self.will_page_break(height + 10):
            self.add_page()
        self.line_of(title, 11, bold=True)
        self.ln(1)


def _when(value: datetime | None) -> str:
    return moment(value)


def _entry(pdf: _Pdf, entry: Recommendation) -> None:
    if pdf.will_page_break(40):
        pdf.add_page()
    pdf.set_draw_color(*NAVY)
    top = pdf.get_y()
    pdf.set_left_margin(pdf.l_margin + 3)
    pdf.line_of(f"{entry.registration_number}: {entry.title}", 10.5, bold=True)
    if entry.late:
        pdf.line_of("LATE SUBMISSION", 7.5, bold=True, colour=LATE, height=4)
    pdf.set_left_margin(pdf.l_margin - 3)
    facts = [
        ("Submitter", f"{entry.submitter_name} ({label(entry.submitter_kind)})"),
        (
            "Proposes",
            f"{label(entry.instrument)}; approach {label(entry.approach).lower()}; "
            f"cost of an AI error {label(entry.cost_of_error).lower()}",
        ),
        ("Directions", ", ".join(label(value) for value in entry.directions)),
    ]
    if entry.positions:
        facts.append(
            ("Positions", "; ".join(f"{label(q)}: {label(p).lower()}" for q, p in entry.positions.items()))
        )
    facts.append(("Summary", entry.summary))
    outcome = label(entry.outcome) if entry.outcome else "Not assessed yet"
    if entry.merged_into_registration_number:
        outcome += f" into {entry.merged_into_registration_number}"
    if entry.assessment_late:
        outcome += " (assessed after the analysis deadline)"
    facts.append(("Outcome", outcome + (f" — {entry.rationale}" if entry.rationale else "")))
    summary = entry.reviews_summary
    if summary.count:
        averages = ", ".join(f"{label(k).lower()} {v:.2f}" for k, v in summary.average_scores.items())
        facts.append(("Reviews", f"{summary.count}; average scores: {averages}"))
        for review in entry.reviews:
            facts.append(
                (
                    "",
                    f"{label(review.organization)}, {review.reviewer}: "
                    f"{label(review.recommendation).lower()} — {review.rationale}",
                )
            )
    if entry.forwarded_at is not None:
        facts.append(
            (
                "Forwarded",
                _when(entry.forwarded_at) + (" (after the deadline)" if entry.forwarding_late else ""),
            )
        )
    for name, value in facts:
        pdf.use(8.5, colour=MUTED)
        pdf.set_x(pdf.l_margin + 3)
        pdf.cell(24, 4.6, name)
        pdf.use(8.5, bold=name == "Outcome")
        pdf.multi_cell(0, 4.6, pdf.text_of(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.use(6.5, colour=MUTED)
    pdf.set_x(pdf.l_margin + 3)
    pdf.multi_cell(
        0, 3.4, "Sources: " + " ".join(entry.event_ids), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    bottom = pdf.get_y()
    if bottom > top:
        pdf.set_line_width(0.8)
        pdf.line(pdf.l_margin, top + 0.5, pdf.l_margin, bottom - 0.5)
    pdf.ln(3)


def render_pdf(document: PackageDocument) -> bytes:
    content, manifest = document.document, document.manifest
    package, consultation, stats = content.package, content.consultation, content.statistics
    pdf = _Pdf(
        f"{package.title} · as of {_when(content.as_of)} · content SHA-256 {manifest.content_sha256[:16]}…"
    )
    pdf.set_title(pdf.text_of(f"Recommendations to the Government: {package.title}"))
    pdf.set_subject(f"aireg government package {package.package_id}")
    pdf.set_keywords(f"content_sha256={manifest.content_sha256}")
    pdf.set_creator("aireg reporting")
    pdf.set_creation_date(content.as_of)
    pdf.add_page()

    pdf.line_of("RECOMMENDATIONS TO THE GOVERNMENT", 9, bold=True, colour=MUTED)
    pdf.line_of(package.title, 20, bold=True, colour=NAVY, height=9)
    pdf.ln(2)
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
        ("Package", package.package_id),
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
    for name, value in meta:
        pdf.use(9.5, colour=MUTED)
        pdf.cell(50, 6, name)
        pdf.use(9.5)
        pdf.multi_cell(0, 6, pdf.text_of(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.heading("The call in figures")
    pdf.line_of(f"Proposals received: {stats.proposals}, of which late: {stats.late_submissions}.", 10)
    pdf.ln(2)
    pdf.stacked_chart("Positions per question", positions_per_question(stats))
    pdf.bar_chart("Proposals per direction", proposals_per_direction(stats))
    pdf.grid(["Status", "Proposals"], [[label(k), str(v)] for k, v in stats.by_status.items()], [120, 54])
    compliance = stats.deadline_compliance
    pdf.line_of("Deadline compliance", 11, bold=True)
    pdf.grid(
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
        [49, 25, 25, 25, 25, 25],
    )
    if stats.campaigns:
        pdf.line_of("Mass campaigns", 11, bold=True)
        pdf.grid(
            ["Campaign", "Proposals"], [[c.campaign_id, str(c.size)] for c in stats.campaigns[:20]], [120, 54]
        )

    by_number = {entry.registration_number: entry for entry in content.recommendations}
    pdf.add_page()
    pdf.heading("Recommendations by direction and question")
    for group in content.groups:
        pdf.heading(label(group.direction), size=13)
        for question in group.questions:
            pdf.line_of(label(question.question), 10.5, bold=True, colour=MUTED)
            pdf.ln(1)
            for number in question.registration_numbers:
                _entry(pdf, by_number[number])
        if group.also_concerning:
            pdf.line_of(
                "Also concerning this direction: " + ", ".join(group.also_concerning), 8.5, colour=MUTED
            )
            pdf.ln(2)

    pdf.add_page()
    pdf.heading("Manifest")
    pdf.line_of(
        "Content SHA-256 (the canonical JSON of the document, attached to this file as document.json):", 9
    )
    pdf.line_of(manifest.content_sha256, 9.5, bold=True)
    pdf.line_of(f"Canonical form: {manifest.canonical_form}.", 8.5, colour=MUTED)
    pdf.ln(2)
    pdf.line_of(f"As of {format_timestamp(manifest.as_of)}; built from {manifest.event_count} events.", 9)
    pdf.line_of(f"SHA-256 of their sorted ids, one per line: {manifest.event_ids_sha256}", 9)
    pdf.ln(2)
    if manifest.event_count <= MAX_LISTED_EVENT_IDS:
        pdf.use(6.5, colour=MUTED)
        pdf.multi_cell(0, 3.2, "  ".join(manifest.event_ids), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:
        pdf.line_of(f"The {manifest.event_count} event ids are in the attached manifest.json.", 9)
    pdf.embed_file(
        bytes=document_json(document),
        basename="document.json",
        desc="The document and its manifest, canonical JSON",
        modification_date=content.as_of,
        creation_date=content.as_of,
    )
    pdf.embed_file(
        bytes=canonical_json(manifest.model_dump(mode="json")),
        basename="manifest.json",
        desc="Event ids and the SHA-256 of the document's canonical content",
        modification_date=content.as_of,
        creation_date=content.as_of,
    )
    return bytes(pdf.output())
