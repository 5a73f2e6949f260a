"""The public schema: the documents in docs/ are the ones the code generates, they cover every event, command,
view and dead-letter record, and the event bodies the relay publishes conform to the published JSON Schema."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from bench.generator import HistoryGenerator
from ledger.aggregates.events import EVENT_TYPES
from ledger.config import Settings
from ledger.nats_api.schema import asyncapi, event_schemas, export
from ledger.nats_api.subjects import COMMAND_PREFIX, COMMANDS, DLQ_PREFIX, EVENTS_PREFIX, READ_PREFIX, READS
from ledger.projections.runner import StoreLog
from ledger.store.application import LedgerStore

DOCS = Path(__file__).resolve().parents[2] / "docs"
JSON_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float),
                                           "boolean": (bool,), "null": (type(None),), "object": (dict,),
                                           "array": (list,)}


def test_the_documents_in_docs_are_current(tmp_path: Path) -> None:
    for path in export(tmp_path):
        published = DOCS / path.relative_to(tmp_path)
        assert published.read_bytes() == path.read_bytes(), f"{published} is stale: run `ledger schema export`"


def test_every_event_command_view_and_dead_letter_has_a_channel() -> None:
    document = asyncapi()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {f"{COMMAND_PREFIX}{name}" for name in COMMANDS} <= addresses
    assert {f"{READ_PREFIX}{view}" for view in READS} <= addresses
    assert {f"{EVENTS_PREFIX}{name}.{{aggregate_id}}" for name in EVENT_TYPES} <= addresses
    assert f"{DLQ_PREFIX}{{worker}}" in addresses
    events = event_schemas()["events"]
    assert set(events) == set(EVENT_TYPES)
    assert all(entry["version"] == EVENT_TYPES[name].class_version for name, entry in events.items())
    for operation in document["operations"].values():
        assert operation["channel"]["$ref"].removeprefix("#/channels/") in document["channels"]


def conforms(value: Any, schema: dict[str, Any], components: dict[str, Any], path: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (the subset msgspec generates: $ref, anyOf, type, enum, properties,
    required, additionalProperties, items); empty when it conforms."""
    if "$ref" in schema:
        return conforms(value, components[schema["$ref"].rsplit("/", 1)[1]], components, path)
    if "anyOf" in schema:
        tries = [conforms(value, option, components, path) for option in schema["anyOf"]]
        return [] if any(not t for t in tries) else [f"{path}: matches no option"]
    problems: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        allowed = tuple(t for kind in ([kinds] if isinstance(kinds, str) else kinds) for t in JSON_TYPES[kind])
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            return [f"{path}: {type(value).__name__} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict) and "properties" in schema:
        properties = schema["properties"]
        problems += [f"{path}.{name}: required" for name in schema.get("required", []) if name not in value]
        for name, item in value.items():
            if name in properties:
                problems += conforms(item, properties[name], components, f"{path}.{name}")
            else:  # stricter than JSON Schema's default: every published field must be documented
                problems.append(f"{path}.{name}: not in the schema")
    if isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for name, item in value.items():
            problems += conforms(item, schema["additionalProperties"], components, f"{path}.{name}")
    if isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            problems += conforms(item, schema["items"], components, f"{path}[{n}]")
    return problems


def test_published_event_bodies_conform_to_the_json_schema(tmp_path: Path) -> None:
    store = LedgerStore(Settings.from_env({}, home=tmp_path, db_path=tmp_path / "ledger.db"))
    HistoryGenerator(store).run(3000)
    document = event_schemas()
    seen: Counter[str] = Counter()
    for note in StoreLog(store).read_raw(0, 10**6):  # exactly the bytes the relay publishes (SQLite, no cipher)
        name = note.topic.partition(":")[0]
        problems = conforms(msgspec.json.decode(note.state), document["events"][name]["schema"],
                            document["components"])
        assert not problems, (name, problems[:5])
        seen[name] += 1
    store.close()
    assert len(seen) >= 10, seen  # a varied history, not one event type
