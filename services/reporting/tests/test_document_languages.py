# ruff: noqa: RUF001  (Russian text: Cyrillic letters that look Latin are meant)
"""The package document in the ministry's language and time: rendered in Russian in all five formats it
holds no English word but proper names, codes and what submitters wrote; its moments are Moscow time,
named; the English rendering of the same events has the same content hash. The Russian PDF's first
pages are left as PNGs in test-artifacts/ for a person to look at."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aireg_http.messages import Language, entries_of
from aireg_reporting.document.content import PackageDocument, build_document, document_json
from aireg_reporting.document.html import render_html
from aireg_reporting.document.markdown import md, render_markdown
from aireg_reporting.document.pdf import render_pdf, unicode_font
from aireg_reporting.document.table import render_csv
from aireg_reporting.domain import Received
from services.reporting.tests.scenario import Scenario, tell_the_call

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*(?:-[A-Za-z]+)*")
CODES = {
    # acronyms and names of formats, standards and the system that an official Russian text keeps
    "SHA",
    "JSON",
    "UTF",
    "UTC",
    "RFC",
    "PDF",
    "AIREG",
    "ASCII",
    "IANA",
    "Europe",
    "Moscow",
    # the file names inside the PDF and the query the manifest names
    "document",
    "json",
    "manifest",
    "as_of",
    # the canonical form's pattern of digits
    "ffffffZ",
}


@pytest.fixture(scope="module")
def moscow() -> Scenario:
    return tell_the_call(NOW, "AI-2030-RU", time_zone="Europe/Moscow", language="ru")


def received(scenario: Scenario) -> list[Received]:
    envelopes = scenario.call.submission.envelopes + scenario.call.analysis.envelopes
    return [Received.parse(envelope.to_canonical()) for envelope in envelopes]


def what_people_wrote(document: PackageDocument) -> list[str]:
    """The texts the document quotes (titles, names, summaries, rationales) and its ids and hashes: they
    stay as written, in any language."""
    content = document.document
    texts = [content.package.title, content.package.package_id, *content.package.event_ids]
    if content.consultation is not None:
        texts += [content.consultation.code, content.consultation.title, content.consultation.time_zone]
    for entry in content.recommendations:
        texts += [entry.title, entry.summary, entry.submitter_name, entry.rationale or "", entry.proposal_id]
        texts += [entry.registration_number, *entry.event_ids]
        for review in entry.reviews:
            texts += [review.reviewer, review.rationale, review.event_id]
    for campaign in content.statistics.campaigns:
        texts += [campaign.campaign_id, campaign.representative or "", campaign.representative_title or ""]
    for measure in content.measures:
        texts += [measure.measure_id, measure.title, measure.description, measure.decision_rationale or ""]
        texts += [risk.description for risk in measure.risks_of_adoption + measure.risks_of_rejection]
        texts += measure.event_ids
        for line in measure.evidence:
            texts += [line.registration_number, line.title, line.note]
            if line.campaign is not None:
                texts += [
                    line.campaign.representative_title,
                    line.campaign.representative_registration_number,
                ]
    texts += document.manifest.event_ids + [
        document.manifest.content_sha256,
        document.manifest.event_ids_sha256,
    ]
    return sorted({text for text in texts if text}, key=len, reverse=True)


def our_words(rendering: str, document: PackageDocument) -> str:
    """``rendering`` without what people wrote, ids and hashes, on one line."""
    flat = " ".join(rendering.split())
    for text in what_people_wrote(document):
        flat = flat.replace(md(text), " ").replace(" ".join(text.split()), " ")
    return flat


def english_left(rendering: str, document: PackageDocument) -> list[str]:
    """The Latin words of ``rendering`` once what people wrote, ids and codes are taken out."""
    flat = our_words(rendering, document)
    words = {word for word in LATIN_WORD.findall(flat) if len(word) > 2 and word not in CODES}
    return sorted(word for word in words if not re.fullmatch(r"[0-9a-f-]+", word))


def english_labels() -> set[str]:
    russian = entries_of("ru")
    return {
        text
        for key, text in entries_of("en").items()
        if isinstance(text, str)
        and key.split(".")[0] in ("label", "document", "csv")
        and text != russian[key]
    }


def pdf_text(pdf: bytes) -> str:
    """The PDF's text as poppler reads it."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "document.pdf"
        path.write_bytes(pdf)
        return subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout


def html_text(html: str) -> str:
    """What a reader of the page sees: the text between tags, the titles of the charts' bars included."""
    without_style = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return (
        re.sub(r"<[^>]+>", " ", without_style)
        .replace("&amp;", "&")
        .replace("&#x27;", "'")
        .replace("&quot;", '"')
    )


def renderings(document: PackageDocument, language: Language) -> dict[str, str]:
    return {
        "md": render_markdown(document, language),
        "html": html_text(render_html(document, language)),
        "csv": render_csv(document, language),
        "pdf": pdf_text(render_pdf(document, language)),
    }


@pytest.mark.skipif(
    shutil.which("pdftotext") is None or unicode_font() is None, reason="needs poppler and a Unicode font"
)
def test_the_russian_document_holds_no_english_label_in_any_format(moscow: Scenario) -> None:
    document = build_document(moscow.package_id, received(moscow))
    labels = english_labels()
    for fmt, text in renderings(document, "ru").items():
        assert english_left(text, document) == [], fmt
        heading = "Регистрационный номер" if fmt == "csv" else "Предложения по направлениям и вопросам"
        assert heading in " ".join(text.split()), fmt
        ours = our_words(text, document)
        assert not [label for label in labels if len(label) > 3 and label in ours], fmt
    # the JSON is the same data in every language: codes, UTC instants, and the consultation's zone
    body = document_json(document).decode()
    assert '"time_zone":"Europe/Moscow"' in body and '"language":"ru"' in body


def test_the_russian_document_uses_the_ministrys_terms_and_moscow_time(moscow: Scenario) -> None:
    document = build_document(moscow.package_id, received(moscow))
    markdown = render_markdown(document, "ru")
    consultation = document.document.consultation
    assert consultation is not None and consultation.time_zone == "Europe/Moscow"
    for term in (
        "ответственность",
        "сертификация",
        "Суверенные отечественные модели",
        "цена ошибки ИИ",
        "Регулирование и устранение барьеров",
        "Направлено в Правительство",
    ):
        assert term in markdown, term
    # the forwarding deadline is 12:00 UTC ten days after NOW: 15:00 in Moscow
    assert "| Срок направления в Правительство | 11 марта 2030, 15:00 (МСК) |" in markdown
    assert "Сроки указаны по времени консультации: МСК (Europe/Moscow)." in markdown
    proposals = document.document.statistics.proposals
    assert f"Поступило предложений: **{proposals}**" in markdown


def test_the_language_changes_the_words_never_the_content(moscow: Scenario) -> None:
    document = build_document(moscow.package_id, received(moscow))
    english = render_markdown(document, "en")
    russian = render_markdown(document, "ru")
    digest = document.manifest.content_sha256
    assert digest in english and digest in russian
    assert "Recommendations by direction and question" in english
    assert "| Forwarding to the government due | 11 March 2030, 15:00 (MSK) |" in english
    assert english_left(russian, document) == []
    assert len(english_left(english, document)) > 50, "the check finds English where there is some"


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None or unicode_font() is None, reason="needs poppler and a font"
)
def test_the_russian_pdf_first_pages_as_png_for_a_person(moscow: Scenario, artifacts_dir: Path) -> None:
    document = build_document(moscow.package_id, received(moscow))
    pdf = artifacts_dir / "reporting-package-ru.pdf"
    pdf.write_bytes(render_pdf(document, "ru"))
    stem = artifacts_dir / "reporting-package-ru"
    subprocess.run(
        ["pdftoppm", "-f", "1", "-l", "3", "-r", "80", "-png", str(pdf), str(stem)],
        check=True,
        capture_output=True,
    )
    pages = sorted(artifacts_dir.glob("reporting-package-ru-*.png"))
    assert len(pages) >= 2, pages
    text = pdf_text(pdf.read_bytes())
    assert "ПРЕДЛОЖЕНИЯ В ПРАВИТЕЛЬСТВО РОССИЙСКОЙ ФЕДЕРАЦИИ" in text
    assert "Приём предложений до" in text and "(МСК)" in text
