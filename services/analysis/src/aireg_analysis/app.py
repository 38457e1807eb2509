"""Composition root of the analysis service: settings → database, log machinery, message bus, routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from aireg_analysis.api import measures_router, packages_router, proposals_router, queue_router
from aireg_analysis.consumers import SubmissionConsumer
from aireg_analysis.handlers import HANDLERS
from aireg_analysis.projector import project_now
from aireg_analysis.settings import Settings
from aireg_analysis.similarity import SimilarityMethod
from aireg_analysis.triage import TriagePolicy
from aireg_events.bus import MessageBus
from aireg_events.envelope import utc_now
from aireg_events.log.appender import Clock
from aireg_events.log.runtime import LogRuntime, Subscription
from aireg_events.signing import load_public_key
from aireg_http.auth import RevocationList, TokenVerifier
from aireg_http.conventions import install_conventions
from aireg_http.feed import feed_router

SERVICE = "analysis"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def triage_policy(settings: Settings) -> TriagePolicy:
    return TriagePolicy(
        method=SimilarityMethod.configure(
            threshold=settings.triage_threshold,
            long_threshold=settings.triage_long_threshold,
            short_shingles=settings.triage_short_shingles,
            long_shingles=settings.triage_long_shingles,
            num_perm=settings.triage_num_perm,
            shingle_size=settings.triage_shingle_size,
        ),
        similar_limit=settings.triage_similar_limit,
        max_candidates=settings.triage_max_candidates,
    )


def create_app(settings: Settings, *, clock: Clock = utc_now) -> FastAPI:
    consumer = SubmissionConsumer(triage_policy(settings))
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
            topics=[settings.topics.submission],
            group_id=settings.topic_namespace + settings.consumer_group,
            apply_batch=consumer.apply_batch,
        ),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="aireg analysis",
        version="1.0.0",
        description="Triage, campaign detection, assignment, dual review, assessment and packages "
        "for the government.",
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
    bus = MessageBus(runtime.appender, HANDLERS, project_now, None)
    app.include_router(queue_router(runtime))
    app.include_router(proposals_router(runtime, bus))
    app.include_router(packages_router(runtime, bus))
    app.include_router(measures_router(runtime, bus))
    app.include_router(feed_router(runtime.database))
    return app
