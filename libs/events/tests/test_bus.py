"""The message bus, on a real database (SQLite and PostgreSQL), without HTTP or a broker: a handler's events
are recorded and projected in the command's transaction, a refusal records nothing and reaches the caller
as raised, and the rules a handler declares are what its route documents."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.bus import Caller, Command, CommandUnit, Handlers, MessageBus
from aireg_events.catalogue.common import DomainEvent
from aireg_events.catalogue.submission import ProposalWithdrawn
from aireg_events.envelope import Actor, Envelope
from aireg_events.log.appender import LogAppender
from aireg_events.log.database import Database, open_database
from aireg_events.log.tables import event_log, install_log_schema
from aireg_events.rules import RuleViolation

STATE = MetaData()
withdrawals = Table(
    "withdrawals", STATE, Column("proposal_id", String(36), primary_key=True), Column("reason", String(200))
)


class AlreadyWithdrawn(RuleViolation):
    code = "already_withdrawn"


class ReasonRequired(RuleViolation):
    code = "reason_required"
    kind = "invalid"


class Withdraw(Command):
    proposal_id: str
    reason: str


class Unhandled(Command):
    pass


handlers = Handlers()


@handlers.register(AlreadyWithdrawn, ReasonRequired)
async def withdraw(command: Withdraw, unit: CommandUnit[None]) -> str:
    if not command.reason:
        raise ReasonRequired("say why")
    known = await unit.session.execute(
        select(withdrawals.c.reason).where(withdrawals.c.proposal_id == command.proposal_id)
    )
    if known.first() is not None:
        raise AlreadyWithdrawn(f"{command.proposal_id} is withdrawn already")
    event = ProposalWithdrawn(
        proposal_id=command.proposal_id, consultation_id="c", portal="p", reason=command.reason
    )
    await unit.record(event)
    # The projection ran inside the command: the handler reads what its event made.
    stored = await unit.session.execute(
        select(withdrawals.c.reason).where(withdrawals.c.proposal_id == command.proposal_id)
    )
    return str(stored.scalar_one())


async def project(session: AsyncSession, envelope: Envelope, event: DomainEvent) -> None:
    assert isinstance(event, ProposalWithdrawn)
    await session.execute(insert(withdrawals).values(proposal_id=event.proposal_id, reason=event.reason))


CALLER = Caller(Actor(role="portal", name="portal-a"), correlation_id="0190aaaa-0000-7000-8000-000000000001")


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = open_database(database_url)
    async with db.writer.begin() as connection:
        await connection.run_sync(install_log_schema)
        await connection.run_sync(STATE.create_all)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def bus(database: Database) -> AsyncIterator[MessageBus]:
    appender = LogAppender(database, "submission")
    await appender.start()
    try:
        yield MessageBus(appender, handlers, project, None)
    finally:
        await appender.stop()


async def logged(database: Database) -> list[Envelope]:
    async with database.reader.connect() as connection:
        rows = (await connection.execute(select(event_log.c.body).order_by(event_log.c.log_position))).all()
    return [Envelope.from_json(body) for (body,) in rows]


async def test_a_command_records_its_event_as_the_caller_and_projects_it(
    bus: MessageBus, database: Database
) -> None:
    assert (
        await bus.handle(Withdraw(proposal_id="p1", reason="changed our mind"), CALLER) == "changed our mind"
    )

    [envelope] = await logged(database)
    assert envelope.event_type == "ProposalWithdrawn"
    assert envelope.actor == CALLER.actor
    assert envelope.correlation_id == CALLER.correlation_id


async def test_a_refusal_reaches_the_caller_and_records_nothing(bus: MessageBus, database: Database) -> None:
    await bus.handle(Withdraw(proposal_id="p1", reason="first"), CALLER)

    with pytest.raises(AlreadyWithdrawn):
        await bus.handle(Withdraw(proposal_id="p1", reason="again"), CALLER)
    with pytest.raises(ReasonRequired):
        await bus.handle(Withdraw(proposal_id="p2", reason=""), CALLER)

    assert [e.stream_id for e in await logged(database)] == ["p1"]


async def test_concurrent_commands_share_a_commit_and_one_refusal_spares_the_others(
    bus: MessageBus, database: Database
) -> None:
    import asyncio

    results = await asyncio.gather(
        *(bus.handle(Withdraw(proposal_id=f"p{i}", reason="r"), CALLER) for i in range(5)),
        bus.handle(Withdraw(proposal_id="p0", reason="twice"), CALLER),
        return_exceptions=True,
    )

    assert results[:5] == ["r"] * 5
    assert isinstance(results[5], AlreadyWithdrawn)
    assert [e.log_position for e in await logged(database)] == [1, 2, 3, 4, 5]


def test_the_rules_a_handler_declares_are_its_refusals() -> None:
    assert handlers.refusals(Withdraw) == (AlreadyWithdrawn, ReasonRequired)
    assert list(handlers) == [Withdraw]
    with pytest.raises(LookupError, match="Unhandled"):
        handlers[Unhandled]


def test_a_command_type_has_one_handler() -> None:
    with pytest.raises(ValueError, match="already has a handler"):

        @handlers.register()
        async def again(command: Withdraw, unit: CommandUnit[None]) -> None:
            return None


def test_commands_are_frozen_and_closed() -> None:
    with pytest.raises(ValueError):
        Withdraw(proposal_id="p", reason="r", extra="x")  # type: ignore[call-arg]


class Greet(Command):
    name: str


async def test_a_handler_gets_the_dependencies_the_bus_was_built_with(database: Database) -> None:
    greeters = Handlers()

    @greeters.register()
    async def greet(command: Greet, unit: CommandUnit[dict[str, str]]) -> str:
        return f"{unit.dependencies['greeting']}, {command.name}"

    appender = LogAppender(database, "submission")
    await appender.start()
    try:
        bus = MessageBus(appender, greeters, project, {"greeting": "Здравствуйте"})
        assert await bus.handle(Greet(name="Анна"), CALLER) == "Здравствуйте, Анна"
    finally:
        await appender.stop()
