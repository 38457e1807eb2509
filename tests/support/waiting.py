"""Waiting for what another process will do, with a deadline instead of a sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], *, until: Callable[[T], bool], timeout: float = 30.0
) -> T:
    """Call ``probe`` until ``until(result)`` holds; return the result, or fail with the last one seen."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met after {timeout}s; last value: {result!r}")
        await asyncio.sleep(0.1)
