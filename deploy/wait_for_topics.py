"""Wait until the contract's topics exist on the broker (``KAFKA_BOOTSTRAP_SERVERS``), then exit 0.

    python deploy/wait_for_topics.py --timeout 600

A pod runs it before its service: a service creates missing topics itself, with one replica, and on a
production cluster the topics must come from the topics Job (replicated, deploy/kafka/create-topics.sh).
Exit status 3 when they are still missing at the time-out.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from aireg_events.topics import Topics

MISSING = 3


async def missing_topics(bootstrap_servers: str, wanted: list[str]) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    return [name for name in wanted if name not in existing]


async def wait_for_topics(
    bootstrap_servers: str, wanted: list[str], timeout: float, every: float = 2.0
) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            missing = await missing_topics(bootstrap_servers, wanted)
        except (KafkaError, OSError) as error:
            missing = [f"(no answer from {bootstrap_servers}: {error})"]
        if not missing:
            return True
        if time.monotonic() >= deadline:
            print(f"still missing after {timeout:.0f}s: {', '.join(missing)}", file=sys.stderr, flush=True)
            return False
        print(f"waiting for topics: {', '.join(missing)}", flush=True)
        await asyncio.sleep(every)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Wait until aireg's topics exist on the broker.")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    bootstrap_servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    wanted = Topics(os.environ.get("AIREG_TOPIC_NAMESPACE", "")).all()
    if asyncio.run(wait_for_topics(bootstrap_servers, wanted, args.timeout)):
        print(f"topics present: {', '.join(wanted)}", flush=True)
        return 0
    return MISSING


if __name__ == "__main__":
    sys.exit(main())
