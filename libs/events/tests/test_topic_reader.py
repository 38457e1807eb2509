"""The whole-topic reader's helpers that need no broker."""

from __future__ import annotations

import gc

from aireg_events.topic_reader import collector_paused


def test_the_collector_is_paused_for_a_read_and_left_as_it_was() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "a collector that was off stays off"
    finally:
        gc.enable()
