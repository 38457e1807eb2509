"""Canonical JSON is stable, and the hash chain catches any change at exactly the changed position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aireg_events.canonical import MAX_EXACT_INTEGER, NotCanonicalizable, canonical_json, loads
from aireg_events.chain import verify_chain
from aireg_events.envelope import GENESIS_HASH, Actor, Envelope, new_event_id

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-MAX_EXACT_INTEGER, max_value=MAX_EXACT_INTEGER),
    st.floats(min_value=-MAX_EXACT_INTEGER, max_value=MAX_EXACT_INTEGER),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
actors = st.builds(
    Actor,
    role=st.sampled_from(["portal", "reviewer", "lead", "admin", "system"]),
    name=st.text(min_size=1, max_size=20),
    organization=st.one_of(st.none(), st.sampled_from(["ministry", "analytical_center"])),
)


def build_chain(
    payloads: list[dict[str, Any]], streams: list[str], when: datetime, actor: Actor
) -> list[Envelope]:
    chain: list[Envelope] = []
    versions: dict[str, int] = {}
    prev = GENESIS_HASH
    for position, (payload, stream) in enumerate(zip(payloads, streams, strict=True), start=1):
        versions[stream] = versions.get(stream, 0) + 1
        envelope = Envelope.seal(
            event_id=new_event_id(),
            event_type="ProposalWithdrawn",
            schema_version=1,
            stream_id=stream,
            stream_version=versions[stream],
            log_position=position,
            occurred_at=when + timedelta(seconds=position),
            producer="submission",
            correlation_id=new_event_id(),
            causation_id=None,
            actor=actor,
            payload=payload,
            prev_hash=prev,
        )
        prev = envelope.hash
        chain.append(envelope)
    return chain


@given(value=json_values)
def test_canonical_json_is_stable_across_round_trips(value: Any) -> None:
    encoded = canonical_json(value)
    assert canonical_json(loads(encoded)) == encoded


@given(payload=st.dictionaries(st.text(max_size=10), json_values, max_size=5), when=moments, actor=actors)
def test_an_envelope_survives_a_round_trip_byte_for_byte(
    payload: dict[str, Any], when: datetime, actor: Actor
) -> None:
    [envelope] = build_chain([payload], ["s"], when, actor)
    again = Envelope.from_json(envelope.to_canonical())
    assert again.to_canonical() == envelope.to_canonical()
    assert again.hash_is_valid()


def test_canonical_json_has_sorted_keys_no_whitespace_utf8_and_one_timestamp_format() -> None:
    moment = datetime(2026, 1, 20, 12, 0, tzinfo=timezone(timedelta(hours=3)))
    assert canonical_json({"b": 1, "a": "Закон", "t": moment}) == (
        '{"a":"Закон","b":1,"t":"2026-01-20T09:00:00.000000Z"}'.encode()
    )


@pytest.mark.parametrize("value", [float("nan"), datetime(2026, 1, 1), {1, 2}])
def test_values_without_a_canonical_form_are_refused(value: Any) -> None:
    with pytest.raises(NotCanonicalizable):
        canonical_json({"v": value})


FIELDS = [
    "event_id",
    "event_type",
    "schema_version",
    "stream_id",
    "stream_version",
    "occurred_at",
    "producer",
    "correlation_id",
    "causation_id",
    "actor",
    "payload",
    "prev_hash",
    "hash",
]


def _changed(envelope: Envelope, field: str) -> Envelope:
    data = envelope.model_dump(mode="json")
    current = data[field]
    if field in ("schema_version", "stream_version"):
        data[field] = current + 1
    elif field == "occurred_at":
        data[field] = "2001-01-01T00:00:00.000000Z"
    elif field == "actor":
        data[field] = {**current, "name": current["name"] + "x"}
    elif field == "payload":
        data[field] = {**current, "tampered": True}
    elif field in ("prev_hash", "hash"):
        data[field] = ("f" if current[0] != "f" else "e") + current[1:]
    elif field == "causation_id":
        data[field] = "forged" if current is None else None
    elif field == "producer":
        data[field] = "mallory"
    else:
        data[field] = current + "x"
    return Envelope.model_validate(data)


@settings(max_examples=60, deadline=None)
@given(
    payloads=st.lists(st.dictionaries(st.text(max_size=5), json_scalars, max_size=3), min_size=1, max_size=8),
    when=moments,
    actor=actors,
    data=st.data(),
)
def test_any_change_of_any_field_breaks_verification_at_exactly_that_position(
    payloads: list[dict[str, Any]], when: datetime, actor: Actor, data: st.DataObject
) -> None:
    streams = [f"stream-{index % 3}" for index in range(len(payloads))]
    chain = build_chain(payloads, streams, when, actor)
    assert verify_chain("submission", chain).ok
    index = data.draw(st.integers(min_value=0, max_value=len(chain) - 1))
    field = data.draw(st.sampled_from(FIELDS))
    forged = list(chain)
    forged[index] = _changed(chain[index], field)
    report = verify_chain("submission", forged)
    assert not report.ok
    assert min(fault.log_position for fault in report.faults) == index + 1


def test_a_missing_event_and_a_reordered_pair_are_named_with_their_positions() -> None:
    chain = build_chain(
        [{"n": n} for n in range(5)],
        ["a", "b", "a", "b", "a"],
        datetime(2026, 1, 1, tzinfo=UTC),
        Actor.system("t"),
    )
    missing = verify_chain("submission", chain[:2] + chain[3:])
    assert next((fault.log_position, fault.kind) for fault in missing.faults) == (3, "missing")
    reordered = verify_chain("submission", [chain[0], chain[2], chain[1], chain[3], chain[4]])
    assert (2, "reordered") in [(fault.log_position, fault.kind) for fault in reordered.faults]


def test_an_exact_redelivery_is_not_a_fault_but_a_duplicate_with_other_content_is() -> None:
    chain = build_chain(
        [{"n": n} for n in range(3)], ["a", "a", "a"], datetime(2026, 1, 1, tzinfo=UTC), Actor.system("t")
    )
    assert verify_chain("submission", chain + [chain[1]]).ok
    other = build_chain(
        [{"n": 99}, {"n": 98}], ["a", "a"], datetime(2026, 1, 1, tzinfo=UTC), Actor.system("t")
    )[1]
    report = verify_chain("submission", chain + [other])
    assert (2, "duplicated") in [(fault.log_position, fault.kind) for fault in report.faults]
