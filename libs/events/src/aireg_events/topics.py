"""Topic names of the contract and their dead-letter twins.

A namespace prefix lets tests (and several deployments on one cluster) run side by side; production uses
none, so the names are exactly those of docs/contract.md.
"""

from __future__ import annotations

from dataclasses import dataclass

SUBMISSION_TOPIC = "aireg.submission.v1"
ANALYSIS_TOPIC = "aireg.analysis.v1"
DLQ_SUFFIX = ".dlq"

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
