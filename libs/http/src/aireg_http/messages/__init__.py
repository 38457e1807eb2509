"""The words people read, in Russian and English: one catalogue per language (``en.toml``, ``ru.toml``
beside this file, the one source of every human text: document labels, dashboard, deadline view,
command-line output, error details), and each language's way of writing numbers, dates and plurals
(Babel, CLDR). Machine codes, field names and event payloads never pass through here.

A catalogue is a TOML file of sections; a key is ``section.name`` (``label.data``,
``document.as_of``). A text may name values in braces (``{count}``); a plural is a table of the
language's CLDR plural categories (en: one, other; ru: one, few, many, other).
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Literal, cast, get_args
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal

Language = Literal["en", "ru"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "en"
DEFAULT_TIME_ZONE = "UTC"
MOMENT_PATTERN = "d MMMM y, HH:mm"
"""How a moment reads in both languages: "20 января 2027, 23:59", "20 January 2027, 23:59"."""

Entry = str | dict[str, str]


class MissingText(KeyError):
    """A key that the catalogue does not hold: a bug in the caller, never shown to a person."""


def _flatten(table: dict[str, object], prefix: str = "") -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, str):
            entries[key] = value
        elif isinstance(value, dict) and key.startswith("plural."):
            entries[key] = {str(form): str(text) for form, text in value.items()}
        elif isinstance(value, dict):
            entries.update(_flatten(value, f"{key}."))
        else:
            raise TypeError(f"{key}: a catalogue holds texts and plural tables only")
    return entries


@cache
def entries_of(language: Language) -> dict[str, Entry]:
    """Every key of ``language``'s catalogue with its text (or its plural forms)."""
    source = files(__package__ or "aireg_http.messages").joinpath(f"{language}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(source))


class Catalogue:
    """The texts of one language and its formatting of numbers, moments and plurals."""

    def __init__(self, language: Language) -> None:
        self.language: Language = language
        self.locale = Locale.parse(language)
        self.entries = entries_of(language)

    def text(self, key: str, **values: object) -> str:
        entry = self.entries.get(key)
        if not isinstance(entry, str):
            raise MissingText(key)
        return entry.format(**values) if values else entry

    def has(self, key: str) -> bool:
        return key in self.entries

    def plural(self, key: str, count: int, **values: object) -> str:
        """``plural.<key>`` for ``count``, the count written as the language writes numbers:
        "19 предложений", "1 предложение", "1,204 proposals"."""
        entry = self.entries.get(f"plural.{key}")
        if not isinstance(entry, dict):
            raise MissingText(f"plural.{key}")
        form = self.locale.plural_form(count)
        text = entry.get(form, entry["other"])
        return text.format(count=self.number(count), **values)

    def plural_forms(self, key: str) -> dict[str, str]:
        """The forms of ``plural.<key>`` by CLDR category, for a page that chooses one itself."""
        entry = self.entries.get(f"plural.{key}")
        if not isinstance(entry, dict):
            raise MissingText(f"plural.{key}")
        return entry

    def label(self, value: str | None) -> str:
        """The words for a contract value (``regulation_and_barriers``), or "—" for none."""
        if value is None:
            return "—"
        entry = self.entries.get(f"label.{value}")
        return entry if isinstance(entry, str) else value.replace("_", " ")

    def labels(self) -> dict[str, str]:
        return {
            key[6:]: text
            for key, text in self.entries.items()
            if key.startswith("label.") and isinstance(text, str)
        }

    def section(self, prefix: str) -> dict[str, Entry]:
        """Every entry under ``prefix.`` (the dashboard takes its texts this way)."""
        return {
            key[len(prefix) + 1 :]: text for key, text in self.entries.items() if key.startswith(f"{prefix}.")
        }

    def number(self, value: float, decimals: int | None = None) -> str:
        if decimals is None:
            return format_decimal(value, locale=self.locale)
        pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
        return format_decimal(value, format=pattern, locale=self.locale)

    def zone_name(self, zone: str) -> str:
        """The zone as people here name it ("MSK" in English), or its IANA name when the catalogue has none."""
        entry = self.entries.get(f"zone.{zone}")
        return entry if isinstance(entry, str) else zone

    def moment(self, value: datetime | None, zone: str = DEFAULT_TIME_ZONE) -> str:
        """An instant as a person in ``zone`` reads it, the zone named ("20 January 2027, 23:59 (MSK)")."""
        if value is None:
            return "—"
        written = format_datetime(value, MOMENT_PATTERN, tzinfo=ZoneInfo(zone), locale=self.locale)
        return f"{written} ({self.zone_name(zone)})"


@cache
def catalogue(language: Language) -> Catalogue:
    return Catalogue(language)


def language_of(value: str | None) -> Language | None:
    """``value`` if it names a language we speak (``ru``, ``ru-RU``, ``EN``), else None."""
    if not value:
        return None
    primary = value.strip().split("-")[0].split("_")[0].lower()
    return cast(Language, primary) if primary in LANGUAGES else None


def preferred_language(accept_language: str | None) -> Language | None:
    """The language of ours the ``Accept-Language`` header ranks first (RFC 9110 q-values), if any."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, Language]] = []
    for index, part in enumerate(accept_language.split(",")):
        name, _, parameters = part.partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            key, _, number = parameter.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        language = language_of(name)
        if language is not None and quality > 0:
            ranked.append((-quality, index, language))
    return min(ranked)[2] if ranked else None
