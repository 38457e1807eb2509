"""Composition root of the reporting service: settings → database, log machinery, routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from aireg_events.envelope import utc_now
from aireg_events.log.appender import Clock
from aireg_events.log.runtime import LogRuntime, Subscription
from aireg_events.signing import load_public_key
from aireg_http.auth import RevocationList, TokenVerifier
from aireg_http.conventions import install_conventions
from aireg_reporting.api import reporting_router
from aireg_reporting.consumers import apply_events
from aireg_reporting.dashboard import dashboard_router
from aireg_reporting.settings import Settings
from aireg_reporting.stream import StreamHub, stream_router

SERVICE = "reporting"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


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
        produces=False,
        subscription=Subscription(
            topics=[settings.topics.submission, settings.topics.analysis],
            group_id=settings.topic_namespace + settings.consumer_group,
            apply_batch=apply_events,
        ),
    )

    hub = StreamHub(runtime)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()
            await runtime.stop()

    app = FastAPI(
        title="aireg reporting",
        version="1.0.0",
        description="Read models: statistics, timelines, package documents, the live stream and "
        "the dashboard. Emits nothing; rebuilt from the topics.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.token_verifier = TokenVerifier(
        load_public_key(settings.token_public_key_file), RevocationList(settings.revoked_tokens_file)
    )
    install_conventions(
        app, service=SERVICE, max_body_bytes=settings.max_body_bytes, health_check=runtime.health
    )
    app.include_router(reporting_router(runtime))
    app.include_router(stream_router(runtime, hub))
    app.include_router(dashboard_router())
    return app
