"""One release everywhere: `aireg --version`, every package's metadata, CHANGELOG.md's latest entry and the
version each service's /health reports."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from aireg_http.observability import install_health_and_metrics

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    "aireg-events",
    "aireg-http",
    "aireg-submission",
    "aireg-analysis",
    "aireg-reporting",
    "aireg-cli",
]


def changelog_latest() -> str:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    match = re.search(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", text, re.MULTILINE)
    assert match, "CHANGELOG.md has no released entry"
    return match.group(1)


def test_every_package_has_the_changelogs_release() -> None:
    latest = changelog_latest()
    assert {name: version(name) for name in PACKAGES} == dict.fromkeys(PACKAGES, latest)
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert workspace == latest


def test_aireg_version_prints_the_release() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aireg_cli.main", "--version"], capture_output=True, text=True, check=True
    )
    assert changelog_latest() in result.stdout.split()


def test_health_reports_the_release() -> None:
    latest = changelog_latest()
    for service in ("submission", "analysis", "reporting"):
        app = FastAPI()
        install_health_and_metrics(app, service)
        answer = TestClient(app).get("/health").json()
        assert (answer["service"], answer["version"]) == (service, latest)
