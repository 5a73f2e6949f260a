"""The public, versioned schema: JSON Schema of every event and command, and an AsyncAPI 3.0 document.

Generated from the msgspec Structs themselves (faststream's generator does not understand msgspec), so the
documents cannot drift from the code: ``ledger schema export`` writes them to ``docs/``.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from ledger.aggregates import events as ev
from ledger.commands.messages import Outcome
from ledger.nats_api.api import ReadQuery
from ledger.nats_api.dead_letters import UncertainRecord
from ledger.nats_api.subjects import (
    COMMAND_PREFIX,
    COMMANDS,
    DLQ_PREFIX,
    DLQ_STREAM,
    EVENTS_PREFIX,
    EVENTS_STREAM,
    READ_PREFIX,
    READS,
)


def event_schemas() -> dict[str, object]:
    """JSON Schema (with shared components) of every event type."""
    types = sorted(ev.EVENT_TYPES.values(), key=lambda c: c.__name__)
    schemas, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    return {"events": {cls.__name__: {"version": cls.class_version, "area": cls.area, "schema": schema}
                       for cls, schema in zip(types, schemas, strict=True)},
            "components": components}


def asyncapi() -> dict[str, object]:
    """An AsyncAPI 3.0 document of the command, read and event channels."""
    commands = sorted(COMMANDS.items())
    kinds = [kind for _, kind in commands] + [Outcome, ReadQuery, UncertainRecord] + sorted(
        ev.EVENT_TYPES.values(), key=lambda c: c.__name__)
    schemas, components = msgspec.json.schema_components(kinds, ref_template="#/components/schemas/{name}")
    by_kind = {kind.__name__: schema for kind, schema in zip(kinds, schemas, strict=True)}
    channels: dict[str, object] = {}
    operations: dict[str, object] = {}
    for name, kind in commands:
        key = f"cmd_{name.replace('.', '_')}"
        channels[key] = {"address": f"{COMMAND_PREFIX}{name}", "messages": {
            "request": {"payload": by_kind[kind.__name__]},
            "reply": {"payload": {"oneOf": [{"type": "object", "properties": {"ok": by_kind["Outcome"]}},
                                            {"$ref": "#/components/schemas/ErrorReply"}]}}}}
        operations[key] = {"action": "receive", "channel": {"$ref": f"#/channels/{key}"},
                           "reply": {"channel": {"$ref": f"#/channels/{key}"}}}
    for view in READS:
        key = f"read_{view}"
        channels[key] = {"address": f"{READ_PREFIX}{view}", "messages": {
            "request": {"payload": by_kind["ReadQuery"]},
            "reply": {"payload": {"oneOf": [{"type": "object", "required": ["ok"]},
                                            {"$ref": "#/components/schemas/ErrorReply"}]}}}}
        operations[key] = {"action": "receive", "channel": {"$ref": f"#/channels/{key}"},
                           "reply": {"channel": {"$ref": f"#/channels/{key}"}}}
    channels["dead_letters"] = {"address": f"{DLQ_PREFIX}{{worker}}",
                                "description": f"JetStream stream {DLQ_STREAM} (with the server's MAX_DELIVERIES "
                                               "advisories): events a worker may or may not have acted on",
                                "parameters": {"worker": {"description": "emails, orders, autopay"}},
                                "messages": {"UncertainRecord": {"payload": by_kind["UncertainRecord"]}}}
    operations["dead_letters"] = {"action": "send", "channel": {"$ref": "#/channels/dead_letters"}}
    for cls in sorted(ev.EVENT_TYPES.values(), key=lambda c: c.__name__):
        key = f"event_{cls.__name__}"
        channels[key] = {"address": f"{EVENTS_PREFIX}{cls.__name__}.{{aggregate_id}}",
                         "description": f"JetStream stream {EVENTS_STREAM}; headers Nats-Msg-Id (event id), "
                                        "Ledger-Position, Ledger-Event-Type, Ledger-Event-Version",
                         "parameters": {"aggregate_id": {"description": "uuid5 of the account's business id"}},
                         "messages": {cls.__name__: {"payload": by_kind[cls.__name__]}}}
        operations[key] = {"action": "send", "channel": {"$ref": f"#/channels/{key}"}}
    components["ErrorReply"] = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "properties": {"code": {"type": "string"}, "field": {"type": ["string", "null"]},
                                         "message": {"type": "string"}}}}}
    return {"asyncapi": "3.0.0", "info": {"title": "payment-ledger", "version": "1"},
            "channels": channels, "operations": operations, "components": {"schemas": components}}


def export(folder: Path) -> list[Path]:
    """Write docs/schema/events.json and docs/asyncapi.json; returns the paths."""
    (folder / "schema").mkdir(parents=True, exist_ok=True)
    written = []
    for path, document in ((folder / "schema" / "events.json", event_schemas()), (folder / "asyncapi.json",
                                                                                  asyncapi())):
        path.write_bytes(msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n")
        written.append(path)
    return written
