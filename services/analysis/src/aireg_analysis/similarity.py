"""Near-duplicate detection as pure computation: normalized words, word shingles, MinHash signatures
(datasketch) and their LSH band keys. No I/O: ``store.py`` keeps signatures and band keys in tables and
finds candidates by band key, so the index is transactional with every triage decision and the same
for every replica of the service.

Two proposals are near-duplicates when the MinHash estimate of the Jaccard similarity of their sets of
word shingles reaches the threshold. LSH narrows the comparison to proposals sharing at least one band
(``bands`` bands of ``rows`` rows of the signature, datasketch's optimum for the threshold), so triage never scans
all pairs.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from datasketch import MinHash, MinHashLSH

from aireg_events.catalogue.analysis import TriageMethod

METHOD_NAME = "minhash_lsh_word_shingles"
METHOD_VERSION = "1"
"""Bump when normalization, shingling, hashing or banding changes: signatures of two versions never
share a band key, so proposals triaged by different versions are never compared."""

SCHEME = "affine32"
_WORD = re.compile(r"\w+", re.UNICODE)

Signature = npt.NDArray[np.uint32]


@dataclass(frozen=True)
class SimilarityMethod:
    """The rule that groups proposals: its parameters, recorded in every ``ProposalTriaged``."""

    threshold: float
    num_perm: int
    shingle_size: int
    bands: int
    rows: int
    seed: int = 1

    @classmethod
    def configure(
        cls, *, threshold: float, num_perm: int, shingle_size: int, seed: int = 1
    ) -> SimilarityMethod:
        """Bands and rows are datasketch's optimum for ``threshold`` with ``num_perm`` permutations."""
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        return cls(threshold, num_perm, shingle_size, lsh.b, lsh.r, seed)

    def describe(self) -> TriageMethod:
        return TriageMethod(
            name=METHOD_NAME,
            version=METHOD_VERSION,
            parameters={
                "threshold": self.threshold,
                "num_perm": self.num_perm,
                "shingle_size": self.shingle_size,
                "bands": self.bands,
                "rows": self.rows,
                "seed": self.seed,
                "scheme": SCHEME,
                "normalization": "nfkc_casefold_words",
            },
        )

    @classmethod
    def from_description(cls, method: TriageMethod) -> SimilarityMethod:
        """The method a recorded ``ProposalTriaged`` used (to rebuild its signature exactly)."""
        if method.name != METHOD_NAME or method.version != METHOD_VERSION:
            raise ValueError(f"unknown triage method {method.name} v{method.version}")
        parameters = method.parameters
        return cls(
            threshold=float(parameters["threshold"]),
            num_perm=int(parameters["num_perm"]),
            shingle_size=int(parameters["shingle_size"]),
            bands=int(parameters["bands"]),
            rows=int(parameters["rows"]),
            seed=int(parameters["seed"]),
        )

    @property
    def key(self) -> str:
        """Identifies signatures that can be compared with each other."""
        return f"{METHOD_NAME}/{METHOD_VERSION}/p{self.num_perm}/s{self.shingle_size}/seed{self.seed}/b{self.bands}r{self.rows}"


def words(text: str) -> list[str]:
    """The text's words, compatibility-normalized and case-folded; punctuation and spacing dropped."""
    return list(_words(text))


@lru_cache(maxsize=2048)
def _words(text: str) -> tuple[str, ...]:
    """Cached: one triage needs a text's words four times (fingerprint, completeness, the exact-duplicate
    check, shingles), and normalizing them is most of what a shingle costs."""
    return tuple(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def text_fingerprint(text: str) -> str:
    """SHA-256 of the normalized words: equal for texts that differ only in case, spacing, punctuation."""
    return hashlib.sha256(" ".join(_words(text)).encode()).hexdigest()


def shingles(text: str, size: int) -> set[str]:
    """Runs of ``size`` consecutive words; a shorter text is one shingle; no words, no shingles."""
    found = _words(text)
    if len(found) <= size:
        return {" ".join(found)} if found else set()
    return {" ".join(found[start : start + size]) for start in range(len(found) - size + 1)}


@lru_cache(maxsize=1024)
def signature(text: str, method: SimilarityMethod) -> Signature | None:
    """The MinHash signature of the text's shingles, or None for a text without words.

    Cached: the consumer computes it to decide and the projection again to store it, from the same text;
    a batch triages up to 500 texts before it projects them (a cache of 256 computed each one twice).
    """
    parts = shingles(text, method.shingle_size)
    if not parts:
        return None
    minhash = MinHash(
        num_perm=method.num_perm, seed=method.seed, scheme=SCHEME, permutations=_permutations(method)
    )
    minhash.update_batch([part.encode() for part in sorted(parts)])
    values: Signature = minhash.hashvalues.astype(np.uint32)
    values.setflags(write=False)
    return values


@lru_cache(maxsize=8)
def _permutations(method: SimilarityMethod) -> npt.NDArray[np.uint32]:
    """The method's permutations, drawn once (datasketch draws them again for every MinHash)."""
    permutations: npt.NDArray[np.uint32] = MinHash(
        num_perm=method.num_perm, seed=method.seed, scheme=SCHEME
    ).permutations
    return permutations


def band_keys(values: Signature, method: SimilarityMethod) -> list[int]:
    """One key per band: a 64-bit hash of the band's rows, salted with the method, as a signed integer."""
    salt = _salt(method)
    data = to_bytes(values)
    width = method.rows * 4  # bytes of one band's rows
    keys = []
    for band in range(method.bands):
        rows = data[band * width : (band + 1) * width]
        digest = hashlib.blake2b(rows, digest_size=8, key=salt, person=band.to_bytes(16, "big")).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


@lru_cache(maxsize=8)
def _salt(method: SimilarityMethod) -> bytes:
    return hashlib.sha256(method.key.encode()).digest()


def to_bytes(values: Signature) -> bytes:
    return values.astype("<u4").tobytes()


def from_bytes(data: bytes) -> Signature:
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def estimated_similarity(one: Signature, other: Signature) -> float:
    """The MinHash estimate of Jaccard similarity (what ``MinHash.jaccard`` computes): equal slots / all."""
    if one.shape != other.shape:
        raise ValueError("signatures of different lengths cannot be compared")
    return float(np.count_nonzero(one == other)) / float(len(one))


def estimated_similarities(one: Signature, others: list[bytes]) -> list[float]:
    """:func:`estimated_similarity` of ``one`` to each stored signature in ``others``, in one pass."""
    if not others:
        return []
    matrix = np.frombuffer(b"".join(others), dtype="<u4").reshape(len(others), len(one))
    equal = np.count_nonzero(matrix == one.astype("<u4"), axis=1)
    return [float(count) / float(len(one)) for count in equal]
