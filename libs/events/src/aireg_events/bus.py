"""The message bus: the one door every command of a service goes through.

A route or a Kafka handler parses its input into a :class:`Command` and calls :meth:`MessageBus.handle`
with the :class:`Caller` behind it. The bus runs the command's handler inside the log's transaction (the
group commit of :class:`~aireg_events.log.appender.LogAppender`) after taking the log's lock, so that
replicas of a service decide one at a time, each on the state the one before recorded. The handler loads
the facts it needs, asks the pure domain, and records the events it decided through
:meth:`CommandUnit.record`, which appends each one and hands it to the service's projector at once: what
the handler (or the route's view) reads afterwards is the state those events made. A refusal (a
:class:`~aireg_events.rules.RuleViolation`) rolls that command back alone and reaches the caller as it
was raised; the HTTP error boundary turns it into an answer.

Handlers are registered with :class:`Handlers`, which also keeps the rules each handler may raise, so a
route's documented errors are derived from its handler (``Handlers.refusals``), never written twice.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.catalogue.common import DomainEvent
from aireg_events.envelope import Actor, Envelope
from aireg_events.log.appender import LogAppender, NewEvent, UnitOfWork
from aireg_events.rules import RuleViolation

C = TypeVar("C", bound="Command")
R = TypeVar("R")
D = TypeVar("D")

Projector = Callable[[AsyncSession, Envelope, DomainEvent], Awaitable[None]]
"""A service's projector: how one of its own events changes its state tables."""


class Command(BaseModel):
    """What a caller asks a service to do: a frozen, closed pydantic model named in the imperative."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Caller:
    """Who asks, and the conversation it belongs to: every event the command records carries both."""

    actor: Actor
    correlation_id: str | None = None
    causation_id: str | None = None
    """The event that caused this command, when a consumer issues it."""


class CommandUnit(Generic[D]):
    """What a handler works with: the transaction's session and clock, ``record`` for its events, and
    the service's ``dependencies`` (what its composition root gave the bus, e.g. a key store)."""

    def __init__(self, uow: UnitOfWork, caller: Caller, projector: Projector, dependencies: D) -> None:
        self.uow = uow
        self.caller = caller
        self.dependencies = dependencies
        self._projector = projector

    @property
    def session(self) -> AsyncSession:
        return self.uow.session

    def now(self) -> datetime:
        return self.uow.now()

    async def record(self, event: DomainEvent, *, expected_version: int | None = None) -> Envelope:
        """Append ``event`` as the caller's and project it; returns its sealed envelope."""
        return (await self.record_all([event], expected_version=expected_version))[0]

    async def record_all(
        self, events: Sequence[DomainEvent], *, expected_version: int | None = None
    ) -> list[Envelope]:
        """Append ``events`` in order with one insert (as the caller's) and project each one.

        ``expected_version`` applies to the first event's stream (the version the decision was made on).
        """
        caller = self.caller
        envelopes = await self.uow.append_many(
            [
                NewEvent(
                    event,
                    actor=caller.actor,
                    correlation_id=caller.correlation_id,
                    causation_id=caller.causation_id,
                    expected_version=expected_version if index == 0 else None,
                    traceparent=self.uow.traceparent,
                )
                for index, event in enumerate(events)
            ]
        )
        for envelope, event in zip(envelopes, events, strict=True):
            await self._projector(self.session, envelope, event)
        await self.session.flush()
        return envelopes


@dataclass(frozen=True)
class Handler:
    """One registered handler: its function and the rules it may refuse a command with."""

    function: Callable[[Any, CommandUnit[Any]], Awaitable[Any]]
    refusals: tuple[type[RuleViolation], ...]


class Handlers(Mapping[type["Command"], Handler]):
    """A service's handlers, by the command type each one takes.

    ``@handlers.register(SomeRule, OtherRule)`` above ``async def f(command: DoThing, unit) -> ...``
    registers ``f`` for ``DoThing`` (from its first parameter's annotation) with the rules it may raise.
    """

    def __init__(self) -> None:
        self._by_type: dict[type[Command], Handler] = {}

    def register(
        self, *refusals: type[RuleViolation]
    ) -> Callable[[Callable[[C, CommandUnit[D]], Awaitable[R]]], Callable[[C, CommandUnit[D]], Awaitable[R]]]:
        def decorate(
            function: Callable[[C, CommandUnit[D]], Awaitable[R]],
        ) -> Callable[[C, CommandUnit[D]], Awaitable[R]]:
            command_type = _command_type(function)
            if command_type in self._by_type:
                raise ValueError(f"{command_type.__name__} already has a handler")
            self._by_type[command_type] = Handler(function, tuple(refusals))
            return function

        return decorate

    def refusals(self, command_type: type[Command]) -> tuple[type[RuleViolation], ...]:
        """The rules the handler of ``command_type`` may raise (what its route documents)."""
        return self._by_type[command_type].refusals

    def __getitem__(self, command_type: type[Command]) -> Handler:
        try:
            return self._by_type[command_type]
        except KeyError:
            raise LookupError(f"no handler for {command_type.__name__}") from None

    def __iter__(self) -> Iterator[type[Command]]:
        return iter(self._by_type)

    def __len__(self) -> int:
        return len(self._by_type)


def _command_type(function: Callable[..., Any]) -> type[Command]:
    hints = typing.get_type_hints(function)
    first = next(iter(inspect.signature(function).parameters))
    command_type = hints.get(first)
    if not (isinstance(command_type, type) and issubclass(command_type, Command)):
        raise TypeError(f"{function.__qualname__}: its first parameter must be annotated with a Command type")
    return command_type


class MessageBus(Generic[D]):
    """Runs commands: one lock discipline, one transaction, one projector, for every command of a service.

    ``dependencies`` is what the service's handlers need beyond the transaction (``unit.dependencies``);
    ``None`` for a service whose handlers need nothing else.
    """

    def __init__(
        self, appender: LogAppender, handlers: Handlers, projector: Projector, dependencies: D
    ) -> None:
        self.appender = appender
        self.handlers = handlers
        self.projector = projector
        self.dependencies = dependencies

    async def handle(self, command: Command, caller: Caller) -> Any:
        """Run ``command``'s handler in its own savepoint of the next group commit; its result once
        committed. A refusal rolls back this command alone and is raised to the caller."""

        async def work(uow: UnitOfWork) -> Any:
            return await self.handle_in(uow, command, caller)

        return await self.appender.run(work)

    async def handle_in(self, uow: UnitOfWork, command: Command, caller: Caller) -> Any:
        """Run ``command``'s handler inside a unit of work already open (a consumer's batch)."""
        handler = self.handlers[type(command)]
        await uow.log_head()  # the log's lock (PostgreSQL) before any fact is read
        return await handler.function(command, CommandUnit(uow, caller, self.projector, self.dependencies))
