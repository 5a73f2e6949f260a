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

#: The JSON Schema dialect of the published documents' schemas (what a standard validator is told to use).
DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: Where shared schemas sit in both documents, as AsyncAPI and OpenAPI place them; every ``$ref`` points here.
REF_TEMPLATE = "#/components/schemas/{name}"
#: The headers of every message on ``LEDGER_EVENTS`` (workers/relay.py).
EVENT_HEADERS = {
    "type": "object", "required": ["Nats-Msg-Id", "Ledger-Position", "Ledger-Event-Type", "Ledger-Event-Version"],
    "properties": {
        "Nats-Msg-Id": {"type": "string", "format": "uuid", "description": "the event id (dedup: safe to redeliver)"},
        "Ledger-Position": {"type": "string", "pattern": "^[0-9]+$", "description": "position in the ledger's log"},
        "Ledger-Event-Type": {"type": "string", "description": "the event's type, as in the subject"},
        "Ledger-Event-Version": {"type": "string", "pattern": "^[0-9]+$", "description": "its schema version"},
        "Ledger-Account": {"type": "string", "description": "the account's business id (absent on a guest "
                                                            "payment's events until PaymentMatched names one)"},
    },
}


def event_schemas() -> dict[str, object]:
    """JSON Schema (Draft 2020-12, with shared components under ``components/schemas``) of every event type.

    Validate a message of type ``T`` against ``{"$ref": "#/events/T/schema"}`` with this document as the root
    (or as a registered resource): every reference resolves inside it.
    """
    types = sorted(ev.EVENT_TYPES.values(), key=lambda c: c.__name__)
    schemas, components = msgspec.json.schema_components(types, ref_template=REF_TEMPLATE)
    return {"$schema": DIALECT,
            "events": {cls.__name__: {"version": cls.class_version, "area": cls.area, "schema": schema}
                       for cls, schema in zip(types, schemas, strict=True)},
            "components": {"schemas": components}}


def asyncapi() -> dict[str, object]:
    """An AsyncAPI 3.0 document of the command, read and event channels."""
    commands = sorted(COMMANDS.items())
    kinds = [kind for _, kind in commands] + [Outcome, ReadQuery, UncertainRecord] + sorted(
        ev.EVENT_TYPES.values(), key=lambda c: c.__name__)
    schemas, components = msgspec.json.schema_components(kinds, ref_template=REF_TEMPLATE)
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
                                        "Ledger-Position, Ledger-Event-Type, Ledger-Event-Version, Ledger-Account",
                         "parameters": {"aggregate_id": {"description": "uuid5 of the account's business id"}},
                         "messages": {cls.__name__: {"headers": {"$ref": "#/components/schemas/EventHeaders"},
                                                     "payload": by_kind[cls.__name__]}}}
        operations[key] = {"action": "send", "channel": {"$ref": f"#/channels/{key}"}}
    components["ErrorReply"] = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "properties": {"code": {"type": "string"}, "field": {"type": ["string", "null"]},
                                         "message": {"type": "string"},
                                         "retry_after": {"type": "string", "description": "overloaded: seconds "
                                                         "to wait before trying again (a decimal)"}}}}}
    components["EventHeaders"] = EVENT_HEADERS
    return {"asyncapi": "3.0.0", "info": {"title": "payment-ledger", "version": "1"},
            "defaultContentType": "application/json", "servers": SERVERS,
            "channels": channels, "operations": operations, "components": {"schemas": components}}


#: Where the API is served: the bundled nats-server of ``ledger serve`` (``NATS_URL`` elsewhere).
SERVERS = {
    "local": {"host": "127.0.0.1:4222", "protocol": "nats",
              "description": "the nats-server that `ledger serve` / `make run` starts (JetStream under "
                             "$LEDGER_HOME/nats; LEDGER_NATS_PORT, or a free port when 4222 is taken)"},
    "production": {"host": "{host}:{port}", "protocol": "nats",
                   "description": "a NATS cluster with JetStream, as NATS_URL names it; each service with its "
                                  "own credential (docs/operations.md)",
                   "variables": {"host": {"description": "a NATS server of the cluster"},
                                 "port": {"default": "4222"}}},
}


def export(folder: Path) -> list[Path]:
    """Write docs/schema/events.json and docs/asyncapi.json; returns the paths."""
    (folder / "schema").mkdir(parents=True, exist_ok=True)
    written = []
    for path, document in ((folder / "schema" / "events.json", event_schemas()), (folder / "asyncapi.json",
                                                                                  asyncapi())):
        path.write_bytes(msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n")
        written.append(path)
    return written
