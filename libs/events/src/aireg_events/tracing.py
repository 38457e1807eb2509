"""Trace context that follows an event from the HTTP request that caused it, through the log and the
relay (the ``traceparent`` Kafka header), into every consumer and the events they append in turn, so one
trace follows a proposal across the three services (OpenTelemetry, W3C trace context).

Also the two ids a log line carries (``correlation_id``, ``event_id``), as context variables.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)
event_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)

_PROPAGATOR = TraceContextTextMapPropagator()


def tracer() -> trace.Tracer:
    return trace.get_tracer("aireg")


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, if a span is being recorded."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def context_from_traceparent(traceparent: str | None) -> Context | None:
    if not traceparent:
        return None
    return _PROPAGATOR.extract({"traceparent": traceparent})


class JsonLinesSpanExporter(SpanExporter):
    """Appends finished spans to a file, one JSON object a line (for tests and for a quick look)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self.path.open("a") as handle:
            for span in spans:
                context = span.get_span_context()
                parent = span.parent
                handle.write(
                    json.dumps(
                        {
                            "service": span.resource.attributes.get("service.name"),
                            "name": span.name,
                            "trace_id": format(context.trace_id, "032x") if context else None,
                            "span_id": format(context.span_id, "016x") if context else None,
                            "parent_span_id": format(parent.span_id, "016x") if parent else None,
                            "attributes": dict(span.attributes or {}),
                        }
                    )
                    + "\n"
                )
        return SpanExportResult.SUCCESS


def configure_tracing(service: str, exporter: str, jsonl_file: Path | None = None) -> None:
    """Install the tracer provider once per process: ``none``, ``otlp`` (OTEL_EXPORTER_OTLP_* settings)
    or ``jsonl`` (to ``jsonl_file``)."""
    if exporter == "none" or isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"aireg-{service}"}))
    if exporter == "jsonl":
        if jsonl_file is None:
            raise ValueError("the jsonl trace exporter needs a file")
        provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(jsonl_file)))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        raise ValueError(f"unknown trace exporter {exporter!r}: none, otlp or jsonl")
    trace.set_tracer_provider(provider)


def span_attributes(envelope: Any) -> dict[str, str | int]:
    return {
        "aireg.event_id": envelope.event_id,
        "aireg.event_type": envelope.event_type,
        "aireg.stream_id": envelope.stream_id,
        "aireg.producer": envelope.producer,
        "aireg.log_position": envelope.log_position,
    }
