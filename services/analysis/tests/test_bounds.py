"""Hostile texts cost what their bound allows: the file-name scan is linear in the text, and a text that
NFKC expands 18-fold (U+FDFA) costs no more memory than the normalized-length cap allows."""

from __future__ import annotations

import random
import re
import tracemalloc

import numpy as np
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from aireg_analysis import domain, similarity
from aireg_analysis.domain import file_names
from aireg_analysis.similarity import (
    MAX_NORMALIZED_CHARS,
    MINHASH_CHUNK_ROWS,
    SimilarityMethod,
    decision_part,
    shingle_hashes,
    signature,
    words,
)

PATTERN = r"\b[\w-]+\.(?:pdf|docx?|xlsx?|csv|odt|ods|txt|rtf|zip|pptx?)\b"
"""The pattern the file names were searched with before (quadratic on ``"a-" * n``)."""
QUADRATIC = re.compile(PATTERN, re.IGNORECASE)

bait = st.lists(
    st.sampled_from(["a", "-", ".", " ", "pdf", "PDF", "docx", "x", "_", "1", "é", "Б", "\u0301", ".txt"]),
    max_size=40,
).map("".join)


@given(bait)
@settings(max_examples=500, deadline=None)
def test_file_names_are_what_the_pattern_found(text: str) -> None:
    assert file_names(text) == [match.group(0) for match in QUADRATIC.finditer(text)]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("See annex.pdf and the budget_2024.XLSX (attached).", ["annex.pdf", "budget_2024.XLSX"]),
        ("Файлы: приложение-1.docx, отчёт.odt.", ["приложение-1.docx", "отчёт.odt"]),
        ("--draft.pdf, a.pdf-b.pdf, notes.pdfx, v1.2.txt", ["draft.pdf", "a.pdf", "-b.pdf", "2.txt"]),
        ("no file here.", []),
    ],
)
def test_file_names_of_ordinary_texts(text: str, names: list[str]) -> None:
    assert file_names(text) == names
    assert names == [match.group(0) for match in QUADRATIC.finditer(text)]


class _Counting:
    """A compiled pattern that counts the characters its searches and matches step over."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.steps = 0

    def _count(self, found: re.Match[str] | None, text: str, position: int, end: int | None) -> None:
        stop = found.end() if found is not None else (len(text) if end is None else end)
        self.steps += stop - position + 1

    def search(self, text: str, position: int = 0, end: int | None = None) -> re.Match[str] | None:
        found = self.pattern.search(text, position, len(text) if end is None else end)
        self._count(found, text, position, end)
        return found

    def match(self, text: str, position: int = 0, end: int | None = None) -> re.Match[str] | None:
        found = self.pattern.match(text, position, len(text) if end is None else end)
        self.steps += 0 if found is None else found.end() - position
        return found


@pytest.mark.parametrize("text", ["a-" * 50_000, "a-" * 50_000 + ".pdf", "-" * 100_000, "a." * 50_000])
def test_the_file_name_scan_steps_over_each_character_a_bounded_number_of_times(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    counters = {
        name: _Counting(getattr(domain, name)) for name in ("_FILE_RUN", "_FILE_EXTENSION", "_BOUNDARY")
    }
    for name, counter in counters.items():
        monkeypatch.setattr(domain, name, counter)
    names = file_names(text)
    assert names == ([text] if text.endswith(".pdf") else [])
    assert sum(counter.steps for counter in counters.values()) <= 4 * len(text) + 10


def test_the_pattern_before_scanned_a_run_again_from_every_boundary() -> None:
    """What the linear scan avoids, counted the same way: the leftmost-match search of the old pattern
    tries every position, and from each word boundary scans the rest of the run (quadratic)."""
    text = "a-" * 2_000
    boundaries = [m.start() for m in re.finditer(r"\b", text) if m.start() < len(text)]
    scanned = sum(len(text) - start for start in boundaries)
    assert scanned > 400 * len(text)
    assert QUADRATIC.search(text) is None


HOSTILE = "\ufdfa" * 100_000
"""100,000 characters that NFKC makes 1.8 million."""


def test_normalized_words_are_capped() -> None:
    found = words(HOSTILE)
    assert sum(len(word) for word in found) + len(found) - 1 <= MAX_NORMALIZED_CHARS
    assert words("Ordinary text. " * 6_000) == ["ordinary", "text"] * 6_000


def test_a_signature_of_an_expanding_text_stays_within_the_memory_its_caps_allow() -> None:
    method = SimilarityMethod.configure(threshold=0.5, num_perm=128, shingle_size=5, long_threshold=0.7)
    similarity._words.cache_clear()
    bound = MAX_NORMALIZED_CHARS * 4 * 12 + MINHASH_CHUNK_ROWS * method.num_perm * 8 * 4
    tracemalloc.start()
    try:
        values = signature(HOSTILE, method)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert values is not None and len(values) == method.candidate_num_perm + method.num_perm
    assert peak < bound, f"peak {peak / 2**20:.0f} MiB, bound {bound / 2**20:.0f} MiB"


def test_a_long_texts_signature_permuted_in_chunks_is_still_datasketchs_minhash() -> None:
    """An ordinary proposal of the longest length has several chunks of shingles: the signature is the
    same as datasketch's MinHash of all of them at once."""
    method = SimilarityMethod.configure(threshold=0.5, num_perm=128, shingle_size=5, long_threshold=0.7)
    rng = random.Random(25)
    text = " ".join(
        "".join(rng.choice("bcdfgklmnprstvzaeiou") for _ in range(rng.randint(2, 9))) for _ in range(12_000)
    )
    characters = shingle_hashes(text, method.shingle_size)
    assert len(characters) > 3 * MINHASH_CHUNK_ROWS
    values = signature(text, method)
    assert values is not None
    reference = MinHash(num_perm=128, seed=1, scheme="affine32", hashfunc=lambda value: value)
    reference.update_batch(characters)
    assert np.array_equal(decision_part(values, method), reference.hashvalues)
