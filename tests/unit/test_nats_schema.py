"""The public schema: the documents in docs/ are the ones the code generates, they cover every event, command,
view and dead-letter record, and every reference in them resolves (the relayed messages are validated against
them in tests/integration/test_event_contract.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ledger.aggregates.events import EVENT_TYPES
from ledger.nats_api.schema import asyncapi, event_schemas, export
from ledger.nats_api.subjects import COMMAND_PREFIX, COMMANDS, DLQ_PREFIX, EVENTS_PREFIX, READ_PREFIX, READS

DOCS = Path(__file__).resolve().parents[2] / "docs"


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


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` in a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_every_reference_resolves_with_a_standard_resolver() -> None:
    """A subscriber hands the published documents to a standard JSON Schema tool: each of their ``$ref`` must
    resolve inside the document (they pointed to ``#/components/schemas/...`` while the event schemas sat at
    ``#/components/...``), and the event document is a valid Draft 2020-12 schema."""
    for path in (DOCS / "schema" / "events.json", DOCS / "asyncapi.json"):
        document = json.loads(path.read_text())
        resolver = Registry().with_resource("urn:doc", Resource.from_contents(
            document, default_specification=DRAFT202012)).resolver("urn:doc")
        found = sorted(set(refs(document)))
        assert len(found) > 40
        for ref in found:
            assert isinstance(resolver.lookup(ref).contents, dict), (path.name, ref)
    events = json.loads((DOCS / "schema" / "events.json").read_text())
    assert events["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(events)


def test_the_asyncapi_document_names_its_servers_and_the_account_header() -> None:
    document = asyncapi()
    assert {server["protocol"] for server in document["servers"].values()} == {"nats"}
    headers = document["components"]["schemas"]["EventHeaders"]["properties"]
    assert {"Nats-Msg-Id", "Ledger-Position", "Ledger-Event-Type", "Ledger-Event-Version", "Ledger-Account"} == set(
        headers)
