"""The analysis service's settings (environment: ``DATABASE_URL``, ``KAFKA_BOOTSTRAP_SERVERS``, ``AIREG_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from aireg_http.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8002
    signing_key_file: Path
    """Ed25519 private key: signs chain checkpoints."""
    consumer_group: str = "aireg-analysis"

    triage_threshold: float = Field(default=0.38, gt=0.0, le=1.0)
    """Estimated Jaccard similarity of character shingles from which two short proposals (up to
    ``triage_short_shingles`` shingles, about 35 words) are near-duplicates; the LSH index is laid out
    for it."""
    triage_long_threshold: float = Field(default=0.66, gt=0.0, le=1.0)
    """What two long proposals (from ``triage_long_shingles`` shingles, about 180 words) need; linear in
    between (``bench/campaigns.py`` chose both)."""
    triage_short_shingles: int = Field(default=250, ge=1)
    triage_long_shingles: int = Field(default=1250, ge=2)
    triage_num_perm: int = Field(default=128, ge=16, le=1024)
    """MinHash permutations per signature (more: closer estimates, bigger signatures)."""
    triage_shingle_size: int = Field(default=7, ge=1, le=20)
    """Characters per shingle."""
    triage_similar_limit: int = Field(default=10, ge=1, le=100)
    """How many of the closest near-duplicates a ProposalTriaged event lists."""
    triage_max_candidates: int = Field(default=100, ge=10)
    """How many LSH candidates (those sharing the most bands first) get their similarity estimated. A
    letter of a large campaign needs a few of its members to join it; comparing a thousand cost it four
    times what a distinct proposal costs (100: about twice, ``bench/campaigns.py``'s corpus, 3,000
    letters)."""
