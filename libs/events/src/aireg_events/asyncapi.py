"""The AsyncAPI 3.0 document of the event catalogue (``aireg asyncapi``), generated from the models.

Each topic is a channel; each event type is a message whose payload is the envelope with that event's
payload schema; headers are those the relay sets. Nothing here is written by hand but the prose.
"""

from __future__ import annotations

import copy
from importlib.metadata import version
from typing import Any

from pydantic import BaseModel

from aireg_events.catalogue import CATALOGUE, EventRegistry
from aireg_events.catalogue.common import DomainEvent
from aireg_events.envelope import Envelope
from aireg_events.topics import ANALYSIS_TOPIC, DLQ_SUFFIX, SUBMISSION_TOPIC

REF = "#/components/schemas/{model}"

HEADERS_SCHEMA = {
    "type": "object",
    "properties": {
        "event_type": {"type": "string", "description": "the envelope's event_type"},
        "schema_version": {"type": "string", "description": "the envelope's schema_version"},
        "event_id": {"type": "string", "description": "the envelope's event_id (UUIDv7)"},
        "log_position": {"type": "string", "description": "the envelope's log_position"},
    },
    "required": ["event_type", "schema_version", "event_id", "log_position"],
}


def _schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode="serialization")
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas[model.__name__] = schema
    return {"$ref": REF.format(model=model.__name__)}


def _message(event: type[DomainEvent], schemas: dict[str, Any], envelope: dict[str, Any]) -> dict[str, Any]:
    payload_ref = _schema(event, schemas)
    message_schema = copy.deepcopy(envelope)
    message_schema["title"] = f"{event.event_type} envelope"
    message_schema["properties"]["payload"] = payload_ref
    message_schema["properties"]["event_type"] = {"const": event.event_type, "type": "string"}
    message_schema["properties"]["schema_version"] = {"const": event.schema_version, "type": "integer"}
    name = f"{event.event_type}Envelope"
    schemas[name] = message_schema
    return {
        "name": event.event_type,
        "title": event.event_type,
        "summary": (event.__doc__ or event.event_type).strip().splitlines()[0],
        "contentType": "application/json",
        "headers": HEADERS_SCHEMA,
        "payload": {"$ref": REF.format(model=name)},
        "correlationId": {"location": "$message.payload#/correlation_id"},
        "bindings": {"kafka": {"key": {"type": "string", "description": "stream_id"}}},
    }


def asyncapi_document(registry: EventRegistry = CATALOGUE) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    envelope = Envelope.model_json_schema(ref_template=REF, mode="serialization")
    for name, definition in envelope.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas["Envelope"] = copy.deepcopy(envelope)
    messages: dict[str, Any] = {}
    by_producer: dict[str, list[str]] = {"submission": [], "analysis": []}
    for event in registry.types():
        messages[event.event_type] = _message(event, schemas, envelope)
        producers = list(by_producer) if event.producer == "*" else [event.producer]
        for producer in producers:
            by_producer[producer].append(event.event_type)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for producer, address in (("submission", SUBMISSION_TOPIC), ("analysis", ANALYSIS_TOPIC)):
        refs = {name: {"$ref": f"#/components/messages/{name}"} for name in by_producer[producer]}
        channels[producer] = {
            "address": address,
            "title": f"the {producer} service's log",
            "description": f"Every event of the {producer} service, in log order per stream (key = stream_id). "
            "Never expires (retention.ms=-1).",
            "messages": refs,
        }
        channels[f"{producer}_dlq"] = {
            "address": address + DLQ_SUFFIX,
            "title": f"dead letters of {address}",
            "description": "Records a consumer could not parse or apply, unchanged, with dlq_* headers naming "
            "the source topic, partition, offset, consumer group and error.",
            "messages": refs,
        }
        operations[f"{producer}.publish"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{producer}"},
            "summary": f"the {producer} relay publishes its log (acks=all)",
            "messages": [{"$ref": f"#/channels/{producer}/messages/{name}"} for name in refs],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "aireg events",
            "version": version("aireg-events"),
            "description": "The domain events of aireg. Each message is an envelope (docs/audit.md): identity, order "
            "(log_position per producer, stream_version per stream) and a SHA-256 hash chain over the "
            "canonical JSON, around the event's payload.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
