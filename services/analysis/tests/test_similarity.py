"""Near-duplicate detection as pure computation: normalization (Russian included), character shingles,
MinHash estimates, LSH bands, the length-aware rule, and the word-shingle rule kept for old events."""

from __future__ import annotations

import dataclasses
import itertools
import random

import numpy as np
import pytest
from datasketch import MinHash

from aireg_analysis.similarity import (
    METHOD_NAME,
    METHOD_VERSION,
    WORD_SHINGLES,
    SimilarityMethod,
    band_keys,
    decision_part,
    estimated_similarity,
    estimated_sizes,
    exact_similarity,
    from_bytes,
    near_duplicate_similarities,
    shingle_hashes,
    shingles,
    signature,
    text_fingerprint,
    to_bytes,
    word_shingle_hashes,
    words,
)
from aireg_events.catalogue.analysis import TriageMethod
from services.analysis.tests.texts import (
    FORM_LETTER,
    RUSSIAN_LETTER,
    distinct_text,
    form_letter_copy,
    russian_letter_copy,
)

METHOD = SimilarityMethod.configure(threshold=0.38, long_threshold=0.66, num_perm=128, shingle_size=7)


def test_texts_differing_only_in_case_spacing_and_punctuation_have_one_fingerprint() -> None:
    assert text_fingerprint("AI must be  SAFE, really!") == text_fingerprint("ai must be safe really")
    assert text_fingerprint("AI must be safe") != text_fingerprint("AI must be sound")
    assert words("\uff26\uff35\uff2c\uff2c-width \uff21\uff29") == [
        "full",
        "width",
        "ai",
    ]  # full-width letters


def test_russian_is_normalized_as_russian_writers_vary_it() -> None:
    # yo typed without its dots, hyphen or dash, «ёлочки» or "straight" quotes, capitals: the same words.
    written = "ЕЩЁ раз: «Чат-боты» — это ИИ; всё учтём!"
    typed = 'еще раз "чат боты" - это ии, все учтем'
    assert words(written) == words(typed) == ["еще", "раз", "чат", "боты", "это", "ии", "все", "учтем"]
    assert text_fingerprint(written) == text_fingerprint(typed)
    assert text_fingerprint("Закон против ИИ") != text_fingerprint("Закон за ИИ")


def test_shingles_are_runs_of_characters_of_the_normalized_words_and_a_short_text_is_one() -> None:
    assert shingles("One, two!", 4) == {"one ", "ne t", "e tw", " two"}
    assert shingles("Hi", 7) == {"hi"}
    assert shingles("...", 7) == set()
    assert shingles("one two three four", 3, "words") == {"one two three", "two three four"}
    assert signature("?!", METHOD) is None


def test_the_signature_is_datasketchs_minhash_of_word_pairs_then_of_character_shingles() -> None:
    text = russian_letter_copy(random.Random(1))
    characters = shingle_hashes(text, METHOD.shingle_size)
    pairs = word_shingle_hashes(text, 2)
    assert len(characters) == len(shingles(text, METHOD.shingle_size))
    assert len(pairs) == len(shingles(text, 2, "words"))
    values = signature(text, METHOD)
    assert values is not None and len(values) == 64 + 128
    reference = MinHash(num_perm=128, seed=1, scheme="affine32", hashfunc=lambda value: value)
    reference.update_batch(characters)
    assert np.array_equal(decision_part(values, METHOD), reference.hashvalues)
    reference = MinHash(num_perm=128, seed=1, scheme="affine32", hashfunc=lambda value: value)
    reference.update_batch(pairs)
    assert np.array_equal(values[:64], reference.hashvalues[:64])  # the first 64 permutations
    size = estimated_sizes(decision_part(values, METHOD).reshape(1, -1))[0]
    assert 0.75 * len(characters) < size < 1.25 * len(characters)


def test_the_estimate_is_what_datasketch_computes_and_the_exact_similarity_is_jaccards() -> None:
    rng = random.Random(1)
    one, other = form_letter_copy(rng), form_letter_copy(rng)
    a, b = signature(one, METHOD), signature(other, METHOD)
    assert a is not None and b is not None
    expected = MinHash(hashvalues=a, scheme="affine32").jaccard(MinHash(hashvalues=b, scheme="affine32"))
    assert estimated_similarity(a, b) == pytest.approx(expected)
    assert np.array_equal(from_bytes(to_bytes(a)), a)
    first, second = shingles(one, 7), shingles(other, 7)
    assert exact_similarity(one, other, 7) == pytest.approx(len(first & second) / len(first | second))
    assert exact_similarity(one, "", 7) == 0.0


def test_the_threshold_grows_with_length_from_short_to_long_letters() -> None:
    assert METHOD.required(100) == METHOD.required(250) == 0.38
    assert METHOD.required(750) == pytest.approx(0.52)
    assert METHOD.required(1250) == METHOD.required(5000) == 0.66
    with pytest.raises(ValueError):
        SimilarityMethod.configure(threshold=0.6, long_threshold=0.5, num_perm=128, shingle_size=7)


def test_twelve_short_russian_letters_with_three_words_changed_each_are_near_duplicates() -> None:
    rng = random.Random(19)
    assert len(RUSSIAN_LETTER.split()) == 39
    texts = [russian_letter_copy(rng) for _ in range(12)]
    copies = [signature(text, METHOD) for text in texts]
    stored = [to_bytes(values) for values in copies if values is not None]
    for text, one in zip(texts, copies, strict=True):
        assert one is not None
        found = near_duplicate_similarities(one, stored, METHOD, text=text, other_texts=texts)
        assert None not in found


def test_copies_of_a_form_letter_resemble_each_other_and_distinct_proposals_do_not() -> None:
    rng = random.Random(7)
    for texts, near in (
        ([form_letter_copy(rng) for _ in range(20)], True),
        ([distinct_text(rng) for _ in range(60)], False),
    ):
        for one, other in itertools.combinations(texts, 2):
            a, b = signature(one, METHOD), signature(other, METHOD)
            assert a is not None and b is not None
            (found,) = near_duplicate_similarities(a, [to_bytes(b)], METHOD, text=one, other_texts=[other])
            assert (found is not None) is near


def test_a_short_letter_quoted_inside_a_long_proposal_is_not_its_near_duplicate() -> None:
    rng = random.Random(5)
    long = RUSSIAN_LETTER + " " + distinct_text(rng, sentences=14)
    short, quoting = signature(RUSSIAN_LETTER, METHOD), signature(long, METHOD)
    assert short is not None and quoting is not None
    found = near_duplicate_similarities(
        short, [to_bytes(quoting)], METHOD, text=RUSSIAN_LETTER, other_texts=[long]
    )
    assert found == [None]
    assert near_duplicate_similarities(short, [], METHOD) == []


def test_near_duplicates_share_a_band_and_the_bands_depend_on_the_method() -> None:
    rng = random.Random(3)
    a, b = signature(russian_letter_copy(rng), METHOD), signature(russian_letter_copy(rng), METHOD)
    assert a is not None and b is not None
    assert len(band_keys(a, METHOD)) == METHOD.bands
    assert set(enumerate(band_keys(a, METHOD))) & set(enumerate(band_keys(b, METHOD)))
    # Thresholds apply when comparing; what makes signatures or bands differ keeps them apart.
    stricter = SimilarityMethod.configure(threshold=0.5, long_threshold=0.8, num_perm=128, shingle_size=7)
    assert band_keys(a, stricter) == band_keys(a, METHOD)
    for other in (
        SimilarityMethod.configure(threshold=0.38, num_perm=128, shingle_size=7, candidate_threshold=0.5),
        SimilarityMethod.configure(threshold=0.38, num_perm=128, shingle_size=6),
    ):
        assert not set(band_keys(a, METHOD)) & set(band_keys(a, other))


def test_the_recorded_method_names_its_parameters_and_rebuilds_the_same_rule() -> None:
    described = METHOD.describe()
    assert (described.name, described.version) == (METHOD_NAME, METHOD_VERSION)
    parameters = described.parameters
    assert (parameters["threshold"], parameters["long_threshold"]) == (0.38, 0.66)
    assert (parameters["short_shingles"], parameters["long_shingles"]) == (250, 1250)
    assert (parameters["shingle_size"], parameters["shingle_unit"]) == (7, "characters")
    assert (parameters["candidate_shingle_size"], parameters["candidate_shingle_unit"]) == (2, "words")
    assert (parameters["candidate_threshold"], parameters["candidate_num_perm"]) == (0.3, 64)
    assert parameters["verify_margin"] == 0.1
    assert (parameters["bands"], parameters["rows"]) == (21, 3)
    assert SimilarityMethod.from_description(described) == METHOD
    assert signature(FORM_LETTER, SimilarityMethod.from_description(described)) is signature(
        FORM_LETTER, METHOD
    )
    with pytest.raises(ValueError, match="unknown triage method"):
        SimilarityMethod.from_description(TriageMethod(name="other", version="1", parameters={}))


def test_a_proposal_triaged_by_the_word_shingle_rule_gets_the_same_signature_and_bands_again() -> None:
    # What version 1 recorded in ProposalTriaged.method, and the signature it computed then: datasketch's
    # default hash (SHA-1) of each word 3-shingle.
    recorded = TriageMethod(
        name=WORD_SHINGLES[0],
        version=WORD_SHINGLES[1],
        parameters={
            "threshold": 0.6,
            "num_perm": 128,
            "shingle_size": 3,
            "bands": 18,
            "rows": 7,
            "seed": 1,
            "scheme": "affine32",
            "normalization": "nfkc_casefold_words",
        },
    )
    method = SimilarityMethod.from_description(recorded)
    assert method.describe() == recorded
    assert method.key == "minhash_lsh_word_shingles/1/p128/s3/seed1/b18r7"
    then = MinHash(num_perm=128, seed=1, scheme="affine32")
    then.update_batch([part.encode() for part in shingles(FORM_LETTER, 3, "words")])
    values = signature(FORM_LETTER, method)
    assert values is not None
    assert np.array_equal(values, then.hashvalues)
    assert method.required(100) == method.required(5000) == 0.6
    assert not set(band_keys(values, method)) & set(band_keys(values, METHOD))
    assert dataclasses.replace(method, unit="chars") != method
