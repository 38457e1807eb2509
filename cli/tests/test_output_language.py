"""The command line speaks to people in Russian or English (``--lang``, ``AIREG_LANG``, the locale), and
its machine output does not change with the language."""

# ruff: noqa: RUF001  (Russian text: Cyrillic letters that look Latin are meant)

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aireg_cli import wording
from aireg_http.messages import Language


def aireg(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in ("AIREG_LANG", "LC_ALL", "LC_MESSAGES", "LANG")
    }
    return subprocess.run(
        [sys.executable, "-m", "aireg_cli.main", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **(env or {})},
        check=False,
    )


def test_a_refusal_reads_in_the_language_asked_for(tmp_path: Path) -> None:
    keys = ["--keys", str(tmp_path / "keys")]
    english = aireg("tokens", "issue", "--role", "mayor", "--name", "x", *keys)
    russian = aireg("--lang", "ru", "tokens", "issue", "--role", "mayor", "--name", "x", *keys)
    from_env = aireg("rebuild", "nowhere", env={"AIREG_LANG": "ru"})
    from_locale = aireg("rebuild", "nowhere", env={"LANG": "ru_RU.UTF-8"})
    assert english.returncode == russian.returncode == 2
    assert "unknown role 'mayor'" in english.stderr
    assert "неизвестная роль 'mayor'" in russian.stderr
    for answer in (from_env, from_locale):
        assert answer.returncode == 2 and "неизвестная служба 'nowhere'" in answer.stderr


def test_machine_output_is_the_same_in_every_language(tmp_path: Path) -> None:
    keys = ["--keys", str(tmp_path / "keys")]
    english = aireg("tokens", "issue", "--role", "auditor", "--name", "a", "--json", *keys)
    russian = aireg("--lang", "ru", "tokens", "issue", "--role", "auditor", "--name", "a", "--json", *keys)
    assert english.returncode == russian.returncode == 0
    assert set(json.loads(english.stdout)) == set(json.loads(russian.stdout)) == {"token"}


def test_an_unknown_language_is_refused() -> None:
    answer = aireg("--lang", "de", "asyncapi")
    assert answer.returncode == 2 and "--lang" in answer.stderr


@pytest.mark.parametrize(("chosen", "spoken"), [("ru", "ru"), ("en", "en"), (None, "en")])
def test_the_demo_deadlines_read_in_moscow_time(chosen: Language | None, spoken: str) -> None:
    wording.choose(chosen)
    try:
        closes = datetime(2027, 1, 20, 20, 59, 59, tzinfo=UTC)
        line = wording.say(
            "demo_deadlines",
            label=wording.words().label("submission_closes_at"),
            moment=wording.words().moment(closes, "Europe/Moscow"),
        )
    finally:
        wording.choose(None)
    expected = {
        "ru": "  Приём предложений до: 20 января 2027, 23:59 (МСК)",
        "en": "  Proposals accepted until: 20 January 2027, 23:59 (MSK)",
    }
    if chosen is None and wording.language() != "en":
        pytest.skip("this machine's locale is not English")
    assert line == expected[spoken]
