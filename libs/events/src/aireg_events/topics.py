"""Topic names of the contract and their dead-letter twins.

A namespace prefix lets tests (and several deployments on one cluster) run side by side; production uses
none, so the names are exactly those of docs/contract.md.
"""

from __future__ import annotations

from dataclasses import dataclass

SUBMISSION_TOPIC = "aireg.submission.v1"
ANALYSIS_TOPIC = "aireg.analysis.v1"
DLQ_SUFFIX = ".dlq"

MAX_EVENT_BYTES = 1024 * 1024
"""The default largest event a log takes (its canonical JSON, ``AIREG_MAX_EVENT_BYTES``): the appender
refuses a larger one before appending it, and every topic is made to take it."""
RECORD_OVERHEAD_BYTES = 64 * 1024
"""What a record adds to its event on the wire: its key (the stream id), headers and batch framing."""


def topic_max_message_bytes(max_event_bytes: int) -> int:
    """The ``max.message.bytes`` of a topic that takes every event of up to ``max_event_bytes``."""
    return max_event_bytes + RECORD_OVERHEAD_BYTES


PRODUCER_TOPICS = {"submission": SUBMISSION_TOPIC, "analysis": ANALYSIS_TOPIC}
"""Which topic each producer's relay publishes to."""


@dataclass(frozen=True)
class Topics:
    """The concrete topic names for one namespace."""

    namespace: str = ""

    def of(self, producer: str) -> str:
        return self.namespace + PRODUCER_TOPICS[producer]

    @property
    def submission(self) -> str:
        return self.of("submission")

    @property
    def analysis(self) -> str:
        return self.of("analysis")

    def dlq(self, topic: str) -> str:
        return topic + DLQ_SUFFIX

    def all(self) -> list[str]:
        main = [self.submission, self.analysis]
        return main + [self.dlq(topic) for topic in main]
