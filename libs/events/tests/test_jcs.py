"""Our canonical JSON is RFC 8785 (JCS): equal to the RFC's own examples, and byte for byte equal to the
reference implementation (the ``rfc8785`` package) on arbitrary JSON values, floats, long integers,
unicode and control characters included; a record's bytes are recognized as canonical exactly when they
are the reference's form of what they decode to."""

from __future__ import annotations

import contextlib
import json
import struct
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aireg_events.canonical import (
    MAX_EXACT_INTEGER,
    NotCanonicalizable,
    canonical_json,
    canonical_json_of_decoded,
    ecmascript_number,
    is_canonical,
    loads,
)

# RFC 8785, Appendix B: IEEE 754 doubles (as hex) and their canonical form.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def double(hex_bits: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(hex_bits))[0]
    return value


@pytest.mark.parametrize(("hex_bits", "expected"), APPENDIX_B)
def test_numbers_are_written_as_rfc_8785_appendix_b_says(hex_bits: str, expected: str) -> None:
    assert canonical_json_of_decoded([double(hex_bits)]) == f"[{expected}]".encode()
    if abs(double(hex_bits)) <= MAX_EXACT_INTEGER:
        assert canonical_json([double(hex_bits)]) == f"[{expected}]".encode()
    else:  # an event holds no number a double cannot hold exactly as an integer
        with pytest.raises(NotCanonicalizable):
            canonical_json([double(hex_bits)])


@pytest.mark.parametrize("hex_bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_nan_and_infinities_have_no_canonical_form(hex_bits: str) -> None:
    with pytest.raises(NotCanonicalizable):
        canonical_json({"x": double(hex_bits)})


@pytest.mark.parametrize(("hex_bits", "expected"), APPENDIX_B)
def test_ecmascript_number_writes_appendix_b(hex_bits: str, expected: str) -> None:
    assert ecmascript_number(double(hex_bits)) == expected


@settings(max_examples=5000, deadline=None)
@given(number=st.floats(allow_nan=False, allow_infinity=False))
def test_ecmascript_number_equals_the_reference_for_any_double(number: float) -> None:
    assert ecmascript_number(number).encode() == rfc8785.dumps(number)


def test_the_rfc_8785_section_3_2_2_example() -> None:
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json_of_decoded(json.loads(source)) == expected.encode()


def test_the_rfc_8785_section_3_2_3_sorting_example() -> None:
    source = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = [key for key in loads(canonical_json(source))]
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert canonical_json(source).startswith(b'{"\\r":"Carriage Return","1":"One","\xc2\x80":"Control"')


def test_an_integral_float_is_written_as_an_integer_and_reads_back_the_same() -> None:
    encoded = canonical_json({"similarity": 1.0, "threshold": 0.8})
    assert encoded == b'{"similarity":1,"threshold":0.8}'
    assert canonical_json(loads(encoded)) == encoded


@pytest.mark.parametrize(
    "number", [MAX_EXACT_INTEGER + 1, -MAX_EXACT_INTEGER - 1, 2**64, -(2**70), 2.0**53, -1e300]
)
def test_numbers_beyond_what_a_double_holds_exactly_as_an_integer_are_refused(number: float) -> None:
    with pytest.raises(NotCanonicalizable):
        canonical_json({"n": number})


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-MAX_EXACT_INTEGER, max_value=MAX_EXACT_INTEGER),
    st.integers(min_value=-(10**20), max_value=10**20),  # long ones, some beyond what JCS allows
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False).map(float.__round__).map(float),  # integral floats
    st.text(),  # every code point but surrogates: control characters, U+2028, beyond U+FFFF
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


def reference(value: Any) -> bytes | None:
    """The reference implementation's bytes, or None where it refuses the value."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        return None


def ours(value: Any) -> bytes | None:
    try:
        return canonical_json(value)
    except NotCanonicalizable:
        return None


def within_the_contract(value: Any) -> bool:
    """No number beyond ±(2**53 - 1): the one rule the contract adds to JCS for what producers write."""
    if isinstance(value, dict):
        return all(within_the_contract(item) for item in value.values())
    if isinstance(value, list):
        return all(within_the_contract(item) for item in value)
    return not isinstance(value, (int, float)) or abs(value) <= MAX_EXACT_INTEGER


@settings(max_examples=2000, deadline=None)
@given(value=json_values)
@example({"\uffff": 1, "\U0001f600": 2})
@example([1.0, -0.0, 1e21, 1e-7, 123456789012345680000.0, 2**53 - 1, 2**53])
@example({"a": '\x00\x1f\x7f\u2028"\\/'})
def test_our_bytes_equal_the_reference_implementations_for_any_json_value(value: Any) -> None:
    expected = reference(value)
    assert ours(value) == (expected if within_the_contract(value) else None)
    if expected is not None:
        assert canonical_json_of_decoded(value, strict=True) == canonical_json_of_decoded(value) == expected
    elif within_the_contract(value):  # refused by JCS for another reason than a long integer
        with pytest.raises(NotCanonicalizable):
            canonical_json_of_decoded(value)
    if expected is not None and within_the_contract(value):
        decoded = loads(expected)
        assert canonical_json_of_decoded(decoded, strict=True) == expected
        assert canonical_json(decoded) == expected  # parsing back and writing again is stable
        assert is_canonical(expected, decoded)


def variants(value: Any) -> list[bytes]:
    """Other ways to write ``value`` as JSON: indented, unsorted, orjson's own number format (the
    form of the logs before RFC 8785), and the reference's."""
    written = [
        json.dumps(value, ensure_ascii=False).encode(),
        json.dumps(value, indent=1, sort_keys=True).encode(),
    ]
    for option in (None, orjson.OPT_SORT_KEYS):
        with contextlib.suppress(TypeError):  # orjson writes no integer beyond 64 bits
            written.append(orjson.dumps(value, option=option))
    canonical = reference(value)
    return written if canonical is None else [*written, canonical]


@settings(max_examples=1000, deadline=None)
@given(value=json_values)
@example({"similarity": 1.0})
@example({"b": 1, "a": 2})
def test_bytes_count_as_canonical_exactly_when_they_are_the_references_form(value: Any) -> None:
    for raw in variants(value):
        try:
            decoded = loads(raw)
        except orjson.JSONDecodeError:
            continue  # orjson reads no integer beyond 64 bits
        assert is_canonical(raw, decoded) == (raw == reference(decoded))
