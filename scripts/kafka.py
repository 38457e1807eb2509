"""Makes sure the Apache Kafka the tests run is on this machine: the pinned broker's jars, fetched from
Maven Central with the machine's Maven into the cache folder when missing, and a Java 17 to run them.
Where that cannot be, it says why and exits 1 under ``AIREG_REQUIRE_KAFKA=1`` (CI), else 0 (the Apache
Kafka tests then skip and say why)."""

from __future__ import annotations

import os
import sys

from aireg_cli.stack import KAFKA_VERSION, KafkaUnavailable, fetch_kafka, kafka_java


def main() -> int:
    try:
        java = kafka_java()
        jars = fetch_kafka(say=print)
    except KafkaUnavailable as reason:
        print(f"kafka.py: {reason}", file=sys.stderr)
        return 1 if os.environ.get("AIREG_REQUIRE_KAFKA") == "1" else 0
    print(f"Apache Kafka {KAFKA_VERSION}: {jars} on {java}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
