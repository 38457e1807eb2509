"""Near-duplicate detection as pure computation: normalization, shingles, MinHash estimates, LSH bands."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from datasketch import MinHash

from aireg_analysis.similarity import (
    METHOD_NAME,
    SimilarityMethod,
    band_keys,
    estimated_similarities,
    estimated_similarity,
    from_bytes,
    shingles,
    signature,
    text_fingerprint,
    to_bytes,
    words,
)
from services.analysis.tests.texts import FORM_LETTER, distinct_text, form_letter_copy

METHOD = SimilarityMethod.configure(threshold=0.6, num_perm=128, shingle_size=3)


def test_texts_differing_only_in_case_spacing_and_punctuation_have_one_fingerprint() -> None:
    assert text_fingerprint("AI must be  SAFE, really!") == text_fingerprint("ai must be safe really")
    assert text_fingerprint("AI must be safe") != text_fingerprint("AI must be sound")
    assert words("\uff26\uff35\uff2c\uff2c-width \uff21\uff29") == [
        "full",
        "width",
        "ai",
    ]  # full-width letters


def test_shingles_are_runs_of_words_and_a_short_text_is_one_shingle() -> None:
    assert shingles("one two three four", 3) == {"one two three", "two three four"}
    assert shingles("one two", 3) == {"one two"}
    assert shingles("...", 3) == set()
    assert signature("?!", METHOD) is None


def test_the_estimate_is_what_datasketch_computes_for_the_same_minhashes() -> None:
    rng = random.Random(1)
    one, other = form_letter_copy(rng), form_letter_copy(rng)
    a, b = signature(one, METHOD), signature(other, METHOD)
    assert a is not None and b is not None
    expected = MinHash(hashvalues=a, scheme="affine32").jaccard(MinHash(hashvalues=b, scheme="affine32"))
    assert estimated_similarity(a, b) == pytest.approx(expected)
    assert np.array_equal(from_bytes(to_bytes(a)), a)
    assert estimated_similarities(a, [to_bytes(b), to_bytes(a)]) == [estimated_similarity(a, b), 1.0]
    assert estimated_similarities(a, []) == []


def test_copies_of_a_form_letter_resemble_each_other_and_distinct_proposals_do_not() -> None:
    rng = random.Random(7)
    copies = [signature(form_letter_copy(rng), METHOD) for _ in range(20)]
    distinct = [signature(distinct_text(rng), METHOD) for _ in range(60)]
    for a, b in itertools.combinations(copies, 2):
        assert a is not None and b is not None
        assert estimated_similarity(a, b) >= METHOD.threshold
    for a, b in itertools.combinations(distinct, 2):
        assert a is not None and b is not None
        assert estimated_similarity(a, b) < METHOD.threshold


def test_near_duplicates_share_a_band_and_the_bands_depend_on_the_method() -> None:
    rng = random.Random(3)
    a, b = signature(form_letter_copy(rng), METHOD), signature(form_letter_copy(rng), METHOD)
    assert a is not None and b is not None
    assert len(band_keys(a, METHOD)) == METHOD.bands
    assert set(enumerate(band_keys(a, METHOD))) & set(enumerate(band_keys(b, METHOD)))
    other = SimilarityMethod.configure(threshold=0.8, num_perm=128, shingle_size=3)
    assert not set(band_keys(a, METHOD)) & set(band_keys(a, other))


def test_the_recorded_method_names_its_parameters_and_rebuilds_the_same_rule() -> None:
    described = METHOD.describe()
    assert described.name == METHOD_NAME
    assert described.parameters["threshold"] == 0.6
    assert described.parameters["bands"] * described.parameters["rows"] <= 128
    assert SimilarityMethod.from_description(described) == METHOD
    assert signature(FORM_LETTER, SimilarityMethod.from_description(described)) is signature(
        FORM_LETTER, METHOD
    )
