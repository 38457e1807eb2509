"""Composition root of the submission service: settings → database, log machinery, the bus, routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

from aireg_events.bus import MessageBus
from aireg_events.envelope import utc_now
from aireg_events.log.appender import Clock
from aireg_events.log.runtime import LogRuntime, Subscription
from aireg_events.signing import load_private_key, load_public_key
from aireg_http.auth import RevocationList, TokenVerifier
from aireg_http.conventions import install_conventions
from aireg_http.errors import COMMON_ERRORS
from aireg_http.feed import feed_router
from aireg_submission.api import (
    consultations_router,
    personal_data_router,
    portals_router,
    proposals_router,
)
from aireg_submission.consumers import apply_analysis_event, handles
from aireg_submission.handlers import HANDLERS
from aireg_submission.personal_data import DataSubjects, read_digest_secret_file, stored_digest_secret
from aireg_submission.projections import project_own
from aireg_submission.settings import Settings
from aireg_submission.store import SuspensionCache

SERVICE = "submission"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def _secure_delete(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def create_app(settings: Settings, *, clock: Clock = utc_now) -> FastAPI:
    runtime = LogRuntime(
        service=SERVICE,
        database_url=settings.database_url,
        migrations_dir=MIGRATIONS,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=settings.topics,
        partitions=settings.topic_partitions,
        replication_factor=settings.topic_replication_factor,
        min_insync_replicas=settings.topic_min_insync_replicas,
        max_event_bytes=settings.max_event_bytes,
        enable_idempotence=settings.kafka_enable_idempotence,
        clock=clock,
        run_migrations=settings.run_migrations,
        signing_key_file=settings.signing_key_file,
        checkpoint_every=settings.checkpoint_every,
        checkpoint_interval=settings.checkpoint_interval_seconds,
        subscription=Subscription(
            topics=[settings.topics.analysis],
            group_id=settings.topic_namespace + settings.consumer_group,
            apply=apply_analysis_event,
            handles=handles,
        ),
    )
    signing_key = load_private_key(settings.signing_key_file)
    subjects = DataSubjects(
        read_digest_secret_file(settings.digest_secret_file) if settings.digest_secret_file else None
    )
    bus = MessageBus(runtime.appender, HANDLERS, project_own, subjects)
    if runtime.database.dialect == "sqlite":
        # Deleted rows (a destroyed data subject key) are overwritten with zeros, not only unlinked.
        event.listen(runtime.database.writer.sync_engine, "connect", _secure_delete)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        if subjects.digest_secret is None:
            subjects.digest_secret = await stored_digest_secret(runtime.database)
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="aireg submission",
        version="1.0.0",
        description="Consultations, intake of proposals from external portals, amendments, withdrawals "
        "and the status each submitter sees.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.token_verifier = TokenVerifier(
        load_public_key(settings.token_public_key_file), RevocationList(settings.revoked_tokens_file)
    )
    app.state.suspensions = SuspensionCache()
    install_conventions(
        app, service=SERVICE, max_body_bytes=settings.max_body_bytes, health_check=runtime.health
    )
    app.include_router(consultations_router(runtime, bus))
    app.include_router(proposals_router(runtime, bus, signing_key, subjects))
    app.include_router(personal_data_router(runtime, bus, subjects))
    app.include_router(portals_router(runtime, bus, app.state.suspensions))
    app.include_router(feed_router(runtime.database), responses=COMMON_ERRORS)
    return app
