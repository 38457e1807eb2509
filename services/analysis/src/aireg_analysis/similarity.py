"""Near-duplicate detection as pure computation: normalized words, shingles, MinHash signatures
(datasketch) with their LSH band keys, and the rule that says whether two signatures are near-duplicates.
No I/O: signatures and band keys are kept in tables (``tables.py``) and triage finds candidates by band key, so the
index is transactional with every triage decision and the same for every replica of the service.

The rule (``minhash_lsh_char_shingles`` v2) has two MinHash signatures per text, stored one after the
other:

- the **candidates'**: of the text's word pairs (``candidate_shingle_size`` words). LSH bands of it
  (``bands`` bands of ``rows`` rows, datasketch's optimum for ``candidate_threshold``) find the proposals
  to compare. Word pairs are specific: distinct proposals on one topic share words far more often than
  pairs of words, so few of them become candidates, however many the consultation holds.
- the **decision's**: of the text's character shingles (``shingle_size`` characters of the normalized
  words joined by single spaces), robust to a changed word, a typo or another ending of a Russian word.
  Two proposals are near-duplicates when its estimated Jaccard similarity reaches a threshold that grows
  with their length: ``threshold`` up to ``short_shingles`` shingles (about 35 words),
  ``long_threshold`` from ``long_shingles`` (about 180 words), linear in between. Senders edit a form
  letter by a few words, a greeting and a signature whatever its length, so two copies of a short letter
  keep less in common than two copies of a long one, while distinct proposals on one topic share stock
  phrases in proportion to their length (``bench/campaigns.py`` measures both). The length of a pair is
  the mean of the sizes of its two shingle sets, estimated from the signatures themselves.

The rule before (``minhash_lsh_word_shingles`` v1: one signature of word 3-shingles, one threshold) is
still known, so that the signatures of proposals it triaged are rebuilt exactly; signatures of two rules
never share a band key, so proposals triaged under different rules are never compared.

Bounded work per proposal, whatever its text: the normalized text is cut at ``MAX_NORMALIZED_CHARS``
characters (NFKC makes 18 of U+FDFA, so 100,000 of it would be 1.8 million), so a text has at most that
many character shingles, words and word pairs; the MinHash of them is computed ``MINHASH_CHUNK_ROWS``
shingles at a time, so its working matrix is at most that many rows by the permutations, however many
shingles there are. An ordinary proposal (at most 100,000 characters, which NFKC barely changes) is
below the cap: its words, shingles and signature are what they were without it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from datasketch import MinHash, MinHashLSH
from datasketch.minhash import _fmix

from aireg_events.catalogue.analysis import TriageMethod

METHOD_NAME = "minhash_lsh_char_shingles"
METHOD_VERSION = "2"
"""Bump when normalization, shingling, hashing, banding or the rule changes: signatures of two versions
never share a band key, so proposals triaged by different versions are never compared."""
WORD_SHINGLES = ("minhash_lsh_word_shingles", "1")
"""The rule before version 2, kept to rebuild the signatures of the proposals it triaged."""

SCHEME = "affine32"
NORMALIZATION = "nfkc_casefold_yo_words"
_WORD = re.compile(r"\w+", re.UNICODE)
_YO, _YE = "\u0451", "\u0435"
"""Cyrillic small yo and ye (after case folding)."""
_MAX_HASH = float(1 << 32)
_ROLLING_BASE = np.uint64(0x100000001B3)

MAX_NORMALIZED_CHARS = 200_000
"""The normalized text is cut here: twice the longest text a proposal may have, so only a text that
normalization expands (compatibility ligatures, U+FDFA's 18 characters) is ever cut."""
MINHASH_CHUNK_ROWS = 8_192
"""Shingles permuted at once by a MinHash: its matrix is at most this many rows by the permutations."""

Signature = npt.NDArray[np.uint32]


@dataclass(frozen=True)
class SimilarityMethod:
    """The rule that groups proposals: its parameters, recorded in every ``ProposalTriaged``."""

    threshold: float
    """The estimated Jaccard similarity two short texts need (and the LSH threshold)."""
    num_perm: int
    shingle_size: int
    bands: int
    rows: int
    seed: int = 1
    long_threshold: float | None = None
    """What two long texts need; None: ``threshold`` at every length (the word-shingle rule)."""
    short_shingles: int = 250
    long_shingles: int = 1250
    candidate_shingle_size: int = 2
    """Words per shingle of the candidates' signature (version 2)."""
    candidate_threshold: float = 0.3
    """The similarity of word pairs the LSH layout (``bands``, ``rows``) is the optimum for."""
    candidate_num_perm: int = 64
    """Permutations of the candidates' signature (the first of the method's): it only feeds the bands."""
    verify_margin: float = 0.1
    """A pair whose estimate is this close to what it requires is decided on the exact Jaccard
    similarity of the two texts' shingles instead (version 2)."""
    unit: str = "chars"
    """``chars`` (version 2) or ``words`` (the rule before: one signature of word shingles)."""

    @classmethod
    def configure(
        cls,
        *,
        threshold: float,
        num_perm: int,
        shingle_size: int,
        long_threshold: float | None = None,
        short_shingles: int = 250,
        long_shingles: int = 1250,
        candidate_shingle_size: int = 2,
        candidate_threshold: float = 0.3,
        candidate_num_perm: int = 64,
        verify_margin: float = 0.1,
        seed: int = 1,
    ) -> SimilarityMethod:
        """Bands and rows are datasketch's optimum for ``candidate_threshold`` with ``candidate_num_perm``
        permutations."""
        if long_threshold is not None and long_threshold < threshold:
            raise ValueError("the long texts' threshold cannot be below the short texts'")
        if short_shingles >= long_shingles:
            raise ValueError("short_shingles must be below long_shingles")
        if candidate_num_perm > num_perm:
            raise ValueError("candidate_num_perm cannot exceed num_perm")
        lsh = MinHashLSH(threshold=candidate_threshold, num_perm=candidate_num_perm)
        return cls(
            threshold,
            num_perm,
            shingle_size,
            lsh.b,
            lsh.r,
            seed,
            threshold if long_threshold is None else long_threshold,
            short_shingles,
            long_shingles,
            candidate_shingle_size,
            candidate_threshold,
            candidate_num_perm,
            verify_margin,
        )

    @property
    def name(self) -> str:
        return METHOD_NAME if self.unit == "chars" else WORD_SHINGLES[0]

    @property
    def version(self) -> str:
        return METHOD_VERSION if self.unit == "chars" else WORD_SHINGLES[1]

    def describe(self) -> TriageMethod:
        parameters: dict[str, object] = {
            "threshold": self.threshold,
            "num_perm": self.num_perm,
            "shingle_size": self.shingle_size,
            "bands": self.bands,
            "rows": self.rows,
            "seed": self.seed,
            "scheme": SCHEME,
        }
        if self.unit == "chars":
            parameters.update(
                shingle_unit="characters",
                long_threshold=self.long_threshold,
                short_shingles=self.short_shingles,
                long_shingles=self.long_shingles,
                candidate_shingle_size=self.candidate_shingle_size,
                candidate_shingle_unit="words",
                candidate_threshold=self.candidate_threshold,
                candidate_num_perm=self.candidate_num_perm,
                verify_margin=self.verify_margin,
                normalization=NORMALIZATION,
            )
        else:
            parameters["normalization"] = "nfkc_casefold_words"
        return TriageMethod(name=self.name, version=self.version, parameters=parameters)

    @classmethod
    def from_description(cls, method: TriageMethod) -> SimilarityMethod:
        """The method a recorded ``ProposalTriaged`` used (to rebuild its signature exactly)."""
        parameters = method.parameters
        known = (method.name, method.version)
        if known not in ((METHOD_NAME, METHOD_VERSION), WORD_SHINGLES):
            raise ValueError(f"unknown triage method {method.name} v{method.version}")
        chars = known == (METHOD_NAME, METHOD_VERSION)
        threshold = float(parameters["threshold"])
        return cls(
            threshold=threshold,
            num_perm=int(parameters["num_perm"]),
            shingle_size=int(parameters["shingle_size"]),
            bands=int(parameters["bands"]),
            rows=int(parameters["rows"]),
            seed=int(parameters["seed"]),
            long_threshold=float(parameters["long_threshold"]) if chars else threshold,
            short_shingles=int(parameters["short_shingles"]) if chars else cls.short_shingles,
            long_shingles=int(parameters["long_shingles"]) if chars else cls.long_shingles,
            candidate_shingle_size=(
                int(parameters["candidate_shingle_size"]) if chars else cls.candidate_shingle_size
            ),
            candidate_threshold=float(parameters["candidate_threshold"]) if chars else threshold,
            candidate_num_perm=(
                int(parameters["candidate_num_perm"]) if chars else int(parameters["num_perm"])
            ),
            verify_margin=float(parameters["verify_margin"]) if chars else 0.0,
            unit="chars" if chars else "words",
        )

    @property
    def key(self) -> str:
        """Identifies signatures that can be compared with each other."""
        key = (
            f"{self.name}/{self.version}/p{self.num_perm}/s{self.shingle_size}/seed{self.seed}"
            f"/b{self.bands}r{self.rows}"
        )
        if self.unit == "chars":
            key += f"/c{self.candidate_shingle_size}p{self.candidate_num_perm}"
        return key

    def required(self, shingles: float) -> float:
        """The similarity two texts of ``shingles`` shingles (the mean of their sizes) need (what
        :func:`near_duplicate_similarities` computes for many pairs at once)."""
        long = self.threshold if self.long_threshold is None else self.long_threshold
        share = (shingles - self.short_shingles) / (self.long_shingles - self.short_shingles)
        return self.threshold + (long - self.threshold) * min(1.0, max(0.0, share))


def words(text: str) -> list[str]:
    """The text's words, compatibility-normalized and case-folded, Russian ё read without its dots (as
    most writers type it); punctuation, hyphens, quotes and spacing dropped."""
    return list(_words(text))


@lru_cache(maxsize=2048)
def _words(text: str) -> tuple[str, ...]:
    """Cached: one triage needs a text's words four times (fingerprint, completeness, the exact-duplicate
    check, shingles), and normalizing them is most of what a shingle costs."""
    return tuple(_WORD.findall(_normalized(text).replace(_YO, _YE)))


@lru_cache(maxsize=256)
def _v1_words(text: str) -> tuple[str, ...]:
    """The words as version 1 normalized them (ё kept): its signatures are rebuilt from these."""
    return tuple(_WORD.findall(_normalized(text)))


def _normalized(text: str) -> str:
    """NFKC and case folding, cut at ``MAX_NORMALIZED_CHARS`` (the input too: NFKC never makes fewer
    characters than a tenth of its input, so the cut input still fills the cap)."""
    normalized = unicodedata.normalize("NFKC", text[:MAX_NORMALIZED_CHARS])[:MAX_NORMALIZED_CHARS]
    return normalized.casefold()[:MAX_NORMALIZED_CHARS]


def text_fingerprint(text: str) -> str:
    """SHA-256 of the normalized words: equal for texts that differ only in case, spacing, punctuation,
    hyphens, quotes, or a ё written without its dots."""
    return hashlib.sha256(" ".join(_words(text)).encode()).hexdigest()


def shingles(text: str, size: int, unit: str = "chars") -> set[str]:
    """Runs of ``size`` consecutive characters of the normalized words joined by single spaces (``chars``)
    or of ``size`` words (``words``, as version 1 normalized them); a shorter text is one shingle; no
    words, no shingles."""
    found = _words(text) if unit == "chars" else _v1_words(text)
    if not found:
        return set()
    if unit == "words":
        if len(found) <= size:
            return {" ".join(found)}
        return {" ".join(found[start : start + size]) for start in range(len(found) - size + 1)}
    joined = " ".join(found)
    if len(joined) <= size:
        return {joined}
    return {joined[start : start + size] for start in range(len(joined) - size + 1)}


@lru_cache(maxsize=1024)
def shingle_hashes(text: str, size: int) -> npt.NDArray[np.uint32]:
    """The 32-bit hashes of the text's character shingles (those :func:`shingles` lists), distinct and
    sorted. Cached (read only): an exact comparison needs them, perhaps for several pairs."""
    hashes: npt.NDArray[np.uint32] = np.unique(_character_runs(text, size))
    hashes.setflags(write=False)
    return hashes


def _character_runs(text: str, size: int) -> npt.NDArray[np.uint32]:
    """The hash of each run of ``size`` characters, repeats included (a MinHash needs no distinct set):
    a polynomial hash of the run's code points, computed for all runs at once."""
    joined = " ".join(_words(text))
    if not joined:
        return np.zeros(0, dtype=np.uint32)
    return _runs(np.frombuffer(joined.encode("utf-32-le"), dtype="<u4").astype(np.uint64), size)


def exact_similarity(text: str, other: str, size: int) -> float:
    """The Jaccard similarity of the two texts' sets of character shingles (by their 32-bit hashes)."""
    one, two = shingle_hashes(text, size), shingle_hashes(other, size)
    if not len(one) or not len(two):
        return 0.0
    common = len(np.intersect1d(one, two, assume_unique=True))
    return common / (len(one) + len(two) - common)


def word_shingle_hashes(text: str, size: int) -> npt.NDArray[np.uint32]:
    """The 32-bit hashes of the runs of ``size`` normalized words (CRC-32 of each word, then the same
    polynomial hash of each run), distinct and sorted."""
    found = _words(text)
    if not found:
        return np.zeros(0, dtype=np.uint32)
    pairs: npt.NDArray[np.uint32] = np.unique(
        _runs(np.array([zlib.crc32(word.encode()) for word in found], dtype=np.uint64), size)
    )
    return pairs


def _runs(codes: npt.NDArray[np.uint64], size: int) -> npt.NDArray[np.uint32]:
    width = min(size, len(codes))
    count = len(codes) - width + 1
    rolling = np.zeros(count, dtype=np.uint64)
    for offset in range(width):
        rolling = rolling * _ROLLING_BASE + codes[offset : offset + count]
    folded: npt.NDArray[np.uint32] = ((rolling >> np.uint64(32)) ^ rolling).astype(np.uint32)
    return folded


@lru_cache(maxsize=1024)
def signature(text: str, method: SimilarityMethod) -> Signature | None:
    """The text's signature, or None for a text without words: version 2, the candidates' MinHash (of
    word shingles, ``candidate_num_perm`` values) followed by the decision's (of character shingles,
    ``num_perm`` values); version 1, the MinHash of its word shingles.

    Cached: the consumer computes it to decide and the projection again to store it, from the same text;
    a batch triages up to 500 texts before it projects them (a cache of 256 computed each one twice).
    """
    if method.unit == "words":
        parts = shingles(text, method.shingle_size, "words")
        if not parts:
            return None
        minhash = MinHash(
            num_perm=method.num_perm, seed=method.seed, scheme=SCHEME, permutations=_permutations(method)
        )
        minhash.update_batch([part.encode() for part in sorted(parts)])
        values: Signature = minhash.hashvalues.astype(np.uint32)
    else:
        characters = _character_runs(text, method.shingle_size)
        if not len(characters):
            return None
        candidates = word_shingle_hashes(text, method.candidate_shingle_size)
        values = np.concatenate(
            [
                _minhash(candidates, method, method.candidate_num_perm),
                _minhash(characters, method, method.num_perm),
            ]
        )
    values.setflags(write=False)
    return values


def _minhash(hashes: npt.NDArray[np.uint32], method: SimilarityMethod, count: int) -> Signature:
    """What ``MinHash.update_batch`` computes for these hash values under the affine32 scheme (the
    pre-mix, then each of the method's first ``count`` permutations), on the array at once instead of a
    Python call per shingle."""
    multipliers, offsets = _permutations(method)[:, :count]
    minima: npt.NDArray[np.uint64] | None = None
    for start in range(0, len(hashes), MINHASH_CHUNK_ROWS):
        chunk = hashes[start : start + MINHASH_CHUNK_ROWS].reshape(-1, 1)
        permuted = _fmix(chunk, 32) * multipliers + offsets
        least = permuted.min(axis=0)
        minima = least if minima is None else np.minimum(minima, least)
    assert minima is not None, "a MinHash of no shingles"
    values: Signature = minima.astype(np.uint32)
    return values


@lru_cache(maxsize=8)
def _permutations(method: SimilarityMethod) -> npt.NDArray[np.uint32]:
    """The method's permutations, drawn once (datasketch draws them again for every MinHash)."""
    permutations: npt.NDArray[np.uint32] = MinHash(
        num_perm=method.num_perm, seed=method.seed, scheme=SCHEME
    ).permutations
    return permutations


def band_keys(values: Signature, method: SimilarityMethod) -> list[int]:
    """One key per band of the candidates' signature: a 64-bit hash of the band's rows, salted with the
    method, as a signed integer."""
    salt = _salt(method)
    data = to_bytes(values[: method.candidate_num_perm] if method.unit == "chars" else values)
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


def decision_part(values: Signature, method: SimilarityMethod) -> Signature:
    """The part of a signature the rule compares: version 2's character MinHash, version 1's only one."""
    return values[method.candidate_num_perm :] if method.unit == "chars" else values


def estimated_sizes(matrix: npt.NDArray[np.uint32]) -> npt.NDArray[np.float64]:
    """The number of distinct shingles behind each signature (a row of ``matrix``), estimated from its
    minima as ``MinHash.count`` does: k / sum(minimum / 2^32) - 1."""
    scaled = matrix.astype(np.float64) / _MAX_HASH
    sizes: npt.NDArray[np.float64] = matrix.shape[1] / np.maximum(scaled.sum(axis=1), 1e-12) - 1.0
    return sizes


def near_duplicate_similarities(
    one: Signature,
    others: list[bytes],
    method: SimilarityMethod,
    *,
    text: str = "",
    other_texts: Sequence[str] = (),
) -> list[float | None]:
    """For each stored signature in ``others``: the similarity of the pair when it is near-duplicate
    under ``method`` (it reaches what their length requires), else None.

    The similarity is the MinHash estimate; when that is within ``verify_margin`` of what is required
    (version 2), the pair is decided on the exact similarity of ``text`` (``one``'s) and the other's
    text (``other_texts``, in the order of ``others``), and that is the similarity returned."""
    if not others:
        return []
    decision = decision_part(one, method)
    matrix = np.frombuffer(b"".join(others), dtype="<u4").reshape(len(others), len(one))
    matrix = matrix[:, len(one) - len(decision) :]
    estimates = np.count_nonzero(matrix == decision, axis=1) / float(len(decision))
    required: npt.NDArray[np.float64] = np.full(len(others), method.threshold)
    if method.long_threshold is not None and method.long_threshold != method.threshold:
        pair_sizes = (estimated_sizes(matrix) + estimated_sizes(decision.reshape(1, -1))[0]) / 2.0
        share = (pair_sizes - method.short_shingles) / (method.long_shingles - method.short_shingles)
        required = method.threshold + (method.long_threshold - method.threshold) * np.clip(share, 0.0, 1.0)
    found: list[float | None] = []
    for index, (estimate, needed) in enumerate(zip(estimates.tolist(), required.tolist(), strict=True)):
        if method.unit == "chars" and abs(estimate - needed) < method.verify_margin:
            exact = exact_similarity(text, other_texts[index], method.shingle_size)
            found.append(exact if exact >= needed else None)
        else:
            found.append(estimate if estimate >= needed else None)
    return found
