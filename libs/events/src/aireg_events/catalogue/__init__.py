"""The event catalogue: every event type and version of docs/contract.md, and the upcasters from old versions.

Events are stored under a stable type name and version, never under a Python path, so classes can move
freely. Reading an old version runs its upcasters in order until the payload has the current shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aireg_events.catalogue import analysis, submission
from aireg_events.catalogue.checkpoint import ChainCheckpoint
from aireg_events.catalogue.common import DomainEvent
from aireg_events.envelope import Envelope

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    """An envelope names an event type or version that this catalogue cannot read."""


class EventRegistry:
    """Maps ``(event_type, schema_version)`` to a model, and old versions to the current one."""

    def __init__(self, events: Iterable[type[DomainEvent]] = ()) -> None:
        self._current: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for event in events:
            self.register(event)

    def register(self, event: type[DomainEvent]) -> None:
        known = self._current.get(event.event_type)
        if known is not None and known is not event:
            raise ValueError(f"{event.event_type} is registered twice")
        self._current[event.event_type] = event

    def register_upcaster(self, event_type: str, from_version: int, upcaster: Upcaster) -> None:
        """``upcaster`` turns a version ``from_version`` payload into a version ``from_version + 1`` one."""
        self._upcasters[(event_type, from_version)] = upcaster

    def model(self, event_type: str) -> type[DomainEvent]:
        try:
            return self._current[event_type]
        except KeyError:
            raise UnknownEventType(f"unknown event type {event_type!r}") from None

    def types(self) -> list[type[DomainEvent]]:
        return list(self._current.values())

    def upcast(self, event_type: str, schema_version: int, payload: dict[str, Any]) -> dict[str, Any]:
        model = self.model(event_type)
        if schema_version > model.schema_version:
            raise UnknownEventType(
                f"{event_type} v{schema_version} is newer than this reader (v{model.schema_version})"
            )
        version = schema_version
        while version < model.schema_version:
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise UnknownEventType(f"no upcaster for {event_type} v{version}")
            payload = step(payload)
            version += 1
        return payload

    def read(self, envelope: Envelope) -> DomainEvent:
        """The typed event inside ``envelope``, upcast to the current version."""
        payload = self.upcast(envelope.event_type, envelope.schema_version, dict(envelope.payload))
        return self.model(envelope.event_type).model_validate(payload)


CATALOGUE = EventRegistry((*submission.EVENTS, *analysis.EVENTS, ChainCheckpoint))
"""Every event of the contract, at its current version."""
for _event_type, _from_version, _upcaster in submission.UPCASTERS:
    CATALOGUE.register_upcaster(_event_type, _from_version, _upcaster)

__all__ = ["CATALOGUE", "ChainCheckpoint", "DomainEvent", "EventRegistry", "UnknownEventType"]
