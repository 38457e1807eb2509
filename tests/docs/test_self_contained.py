"""A clone stands on its own: no tracked file names a document outside the repository (the changelog may
tell the history)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"\.\./shared|(^|[^/A-Za-z_])(CONTRACT|DESIGN|STYLE)\.md")


def test_no_tracked_file_names_an_outside_document() -> None:
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    found = []
    for name in files:
        if name == "CHANGELOG.md" or name.endswith(".lock"):
            continue
        path = ROOT / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += [f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert found == [], found
