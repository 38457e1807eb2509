"""Worst-case triage benchmark: the CPU time and peak memory of triage's text steps for one proposal,
for each hostile text of issue 25 against an ordinary proposal, in the same run.

    uv run python -m bench.triage_worst_case            # a few seconds
    uv run python -m bench.triage_worst_case --repeat 5

The text steps are what the analysis service computes from a proposal's text when it triages it, in
process and without I/O: completeness (``missing_answers``: the file names and attachment words it
mentions), the fingerprint of its normalized words (the exact-duplicate check), its signature (word-pair
and character-shingle MinHash) and the distinct hashes of its character shingles (an exact comparison
near the threshold), with the service's default method. Every cache is emptied before each measure, so
each is the cost of a text seen for the first time. CPU time is ``time.process_time`` (the best of
``--repeat`` runs); peak memory is ``tracemalloc``'s peak over one run (numpy's arrays included),
measured apart so that tracing does not inflate the time.

The texts: an ordinary proposal (the benchmarks' 160 words, about 1 kB), an ordinary text of 100,000
characters (the longest a proposal may have), and the hostile ones, 100,000 characters each: ``"a-"``
repeated (regex bait for the file-name pattern), U+FDFA (18 characters under NFKC), an emoji, one word,
a control character.
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from collections.abc import Callable

from aireg_analysis import similarity
from aireg_analysis.app import triage_policy
from aireg_analysis.domain import missing_answers
from aireg_analysis.settings import Settings
from aireg_analysis.similarity import shingle_hashes, signature, text_fingerprint
from aireg_events.catalogue.submission import ProposalContent
from bench.harness import header, text
from tests.support.sealed import sealed_submitter

LENGTH = 100_000


def content(body: str) -> ProposalContent:
    """A proposal of ``body`` as the log holds it (its submitter sealed as the submission service seals it)."""
    return ProposalContent.model_validate(
        {
            "submitter": sealed_submitter(
                {
                    "name": "Association of AI developers",
                    "kind": "industry_association",
                    "registration_number": "7701234567",
                    "contact_email": "office@example.org",
                }
            ),
            "title": "Proposal on the regulation of artificial intelligence",
            "summary": "A letter to the consultation.",
            "text": body,
            "directions": ["regulation_and_barriers"],
            "questions": ["definition_and_liability"],
            "positions": {"definition_and_liability": "support"},
            "instrument": "federal_law",
            "approach": "comprehensive",
            "cost_of_error": "high",
            "application_areas": ["healthcare"],
        }
    )


def texts() -> dict[str, str]:
    rng = random.Random(25)
    long = text(rng, LENGTH // 5)
    while len(long) < LENGTH:
        long += " " + text(rng, 100)
    return {
        "ordinary proposal (160 words)": text(rng, 160),
        "ordinary text, 100,000 chars": long[:LENGTH],
        '"a-" x 50,000': "a-" * (LENGTH // 2),
        "U+FDFA x 100,000": "\ufdfa" * LENGTH,
        "emoji x 100,000": "\U0001f600" * LENGTH,
        "one 100,000-char word": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(LENGTH)),
        "control chars x 100,000": "\x01" * LENGTH,
    }


def steps(proposal: ProposalContent) -> Callable[[], None]:
    method = triage_policy(Settings.model_construct()).method

    def run() -> None:
        for cached in (similarity._words, similarity._v1_words, similarity.shingle_hashes, signature):
            cached.cache_clear()
        missing_answers(proposal)
        text_fingerprint(proposal.text)
        signature(proposal.text, method)
        shingle_hashes(proposal.text, method.shingle_size)

    return run


def cpu_seconds(run: Callable[[], None], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


def peak_mib(run: Callable[[], None]) -> float:
    tracemalloc.start()
    try:
        run()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="CPU time is the best of this many runs")
    arguments = parser.parse_args()
    header("triage's text steps per proposal, worst cases against an ordinary proposal")
    figures: list[tuple[str, float, float]] = []
    for name, body in texts().items():
        run = steps(content(body))
        figures.append((name, cpu_seconds(run, arguments.repeat), peak_mib(run)))
    _name, base_cpu, base_peak = figures[0]
    print(f"{'text':32} {'CPU ms':>9} {'x ordinary':>11} {'peak MiB':>9} {'x ordinary':>11}")
    for name, cpu, peak in figures:
        print(
            f"{name:32} {cpu * 1000:9.1f} {cpu / base_cpu:11.1f} {peak:9.2f} {peak / base_peak:11.1f}",
            flush=True,
        )
    worst_cpu = max(figures[2:], key=lambda figure: figure[1])
    worst_peak = max(figures[2:], key=lambda figure: figure[2])
    print(
        f"worst CPU: {worst_cpu[0]}, {worst_cpu[1] * 1000:.0f} ms ({worst_cpu[1] / base_cpu:.0f} x ordinary); "
        f"worst peak: {worst_peak[0]}, {worst_peak[2]:.1f} MiB ({worst_peak[2] / base_peak:.0f} x ordinary)"
    )


if __name__ == "__main__":
    main()
