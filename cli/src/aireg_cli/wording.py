"""The language the command line speaks to people: ``--lang``, else ``AIREG_LANG``, else the locale
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``ru_RU.UTF-8`` speaks Russian), else English. The words come
from the message catalogues (``aireg_http.messages``, section ``cli``); ``--json`` output, machine codes
and ids are never translated."""

from __future__ import annotations

import os

from aireg_http.messages import DEFAULT_LANGUAGE, Catalogue, Language, catalogue, language_of

_chosen: list[Language] = []


def choose(language: Language | None) -> None:
    """The language of this run (``None``: from the environment)."""
    _chosen[:] = [language] if language is not None else []


def language() -> Language:
    if _chosen:
        return _chosen[0]
    for variable in ("AIREG_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        found = language_of(os.environ.get(variable))
        if found is not None:
            return found
    return DEFAULT_LANGUAGE


def words() -> Catalogue:
    return catalogue(language())


def say(key: str, **values: object) -> str:
    """The command line's sentence ``cli.<key>`` in the language of this run."""
    return words().text(f"cli.{key}", **values)
