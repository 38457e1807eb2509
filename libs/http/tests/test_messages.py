"""The message catalogues: every key in both languages with the same placeholders, the plural forms each
language needs, and Babel's way of writing moments, numbers and plurals."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime

import pytest
from babel import Locale

from aireg_http.messages import LANGUAGES, catalogue, entries_of, preferred_language

MOSCOW_DEADLINE = datetime(2027, 1, 20, 20, 59, 59, tzinfo=UTC)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_exists_in_both_languages_with_the_same_placeholders() -> None:
    english, russian = entries_of("en"), entries_of("ru")
    assert set(english) == set(russian), set(english) ^ set(russian)
    for key, text in english.items():
        other = russian[key]
        if isinstance(text, str):
            assert isinstance(other, str), key
            assert _placeholders(text) == _placeholders(other), key
        else:
            assert isinstance(other, dict), key
            assert {name for form in text.values() for name in _placeholders(form)} == {
                name for form in other.values() for name in _placeholders(form)
            }, key


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_plural_has_the_forms_its_language_needs(language: str) -> None:
    forms = set(Locale.parse(language).plural_form.tags) | {"other"}
    for key, entry in entries_of(language).items():
        if key.startswith("plural."):
            assert isinstance(entry, dict) and set(entry) == forms, (
                key,
                set(entry) if isinstance(entry, dict) else entry,
            )


def _has_words(text: str) -> bool:
    """Whether ``text`` says something beyond its placeholders, names of protocols and paths."""
    bare = re.sub(r"\{[^}]*\}|https?://\S+|/\S+", " ", text)
    return bool(set(re.findall(r"[^\W\d_]{3,}", bare)) - {"OpenAPI", "docs"})


def test_the_russian_texts_are_russian() -> None:
    english, russian = entries_of("en"), entries_of("ru")
    same = {
        key
        for key, text in english.items()
        if isinstance(text, str) and text == russian[key] and not key.startswith("zone.") and _has_words(text)
    }
    assert same == set(), "translate these or say why they read alike"


def test_a_moscow_deadline_reads_in_moscow_time_and_in_the_language() -> None:
    assert catalogue("ru").moment(MOSCOW_DEADLINE, "Europe/Moscow") == "20 января 2027, 23:59 (МСК)"  # noqa: RUF001
    assert catalogue("en").moment(MOSCOW_DEADLINE, "Europe/Moscow") == "20 January 2027, 23:59 (MSK)"
    assert catalogue("en").moment(MOSCOW_DEADLINE, "UTC") == "20 January 2027, 20:59 (UTC)"
    assert catalogue("ru").moment(MOSCOW_DEADLINE, "Asia/Tokyo") == "21 января 2027, 05:59 (Asia/Tokyo)"


def test_numbers_and_plurals_follow_the_language() -> None:
    ru, en = catalogue("ru"), catalogue("en")
    assert [ru.plural("proposals", n) for n in (1, 3, 19, 21)] == [
        "1 предложение",
        "3 предложения",
        "19 предложений",
        "21 предложение",
    ]
    assert [en.plural("proposals", n) for n in (1, 19)] == ["1 proposal", "19 proposals"]
    assert ru.number(12074) == "12\N{NO-BREAK SPACE}074" and en.number(12074) == "12,074"
    assert ru.number(3.5, 2) == "3,50" and en.number(3.5, 2) == "3.50"
    assert [ru.plural("days", n) for n in (1, 3, 48)] == ["1 день", "3 дня", "48 дней"]


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("en-US,en;q=0.9,ru;q=0.8", "en"),
        ("de-DE,de;q=0.9,ru;q=0.5", "ru"),
        ("fr", None),
        ("ru;q=0", None),
        ("en;q=0.3, ru;q=0.7", "ru"),
        ("", None),
        (None, None),
    ],
)
def test_accept_language_picks_the_first_of_ours(header: str | None, language: str | None) -> None:
    assert preferred_language(header) == language


def _rules(root: type[Exception]) -> list[type[Exception]]:
    found: list[type[Exception]] = []
    for rule in root.__subclasses__():
        found += [rule, *_rules(rule)]
    return found


def test_every_rule_the_services_refuse_with_has_a_sentence_in_both_languages() -> None:
    import aireg_analysis.domain
    import aireg_analysis.measures
    import aireg_submission.domain
    from aireg_events.log.appender import StreamVersionConflict
    from aireg_events.rules import RuleViolation

    assert aireg_analysis.domain and aireg_analysis.measures and aireg_submission.domain  # for their rules
    services = ("aireg_analysis.", "aireg_submission.", "aireg_reporting.", "aireg_events.")
    rules = [rule for rule in _rules(RuleViolation) if rule.__module__.startswith(services)]  # not tests' own
    codes = {str(rule.code) for rule in rules} | {StreamVersionConflict.code}
    assert len(codes) > 20
    for language in LANGUAGES:
        assert codes <= {key[6:] for key in entries_of(language) if key.startswith("error.")}, language
