"""NATS permissions of each role, as nats-server configuration maps (``authorization.users[].permissions``).

Enforced by the nats-server, not by the ledger: a client may publish and subscribe only where its user's
permissions allow. Each user's replies come to its own inbox prefix ``_INBOX_<user>`` (nats-py's
``inbox_prefix``), which no other user may subscribe to; the ledger answers requests through
``allow_responses`` (one reply to the subject a request named), never by a publish right on others' inboxes.

The subject a request comes in on proves its credential: a portal ``N`` may publish only under
``ledger.portal.N.``, and there only the commands a customer or guest may give
(:data:`ledger.commands.self_service.SELF_SERVICE`) and the reads of the portal's pages (``PORTAL_READS``); a
staff member ``N`` only under ``ledger.staff.N.``; the unprefixed ``ledger.cmd.>`` and ``ledger.read.>`` are
the admin's.

No role but admin may destroy what a stream holds: purge or delete a stream, delete a message, delete a consumer,
or update a stream (shrinking its limits would purge it). ``serve`` sets up both streams over the admin's
credential at its start (:func:`workers.streams.provision_streams`); the relay and the workers may only look a
stream up and create it when it is missing (issue 15: after an operator deleted it), which the server refuses
for an existing stream unless the configuration is the same, so creating cannot change one either.
"""

from __future__ import annotations

import re
from typing import NotRequired, TypedDict

from ledger.commands.self_service import SELF_SERVICE
from ledger.errors import ValidationError
from ledger.nats_api.subjects import (
    COMMANDS,
    DLQ_PREFIX,
    DLQ_STREAM,
    EVENTS_PREFIX,
    EVENTS_STREAM,
    PORTAL_READS,
    QUEUE_GROUP,
)

#: Roles one may issue a credential for (``ledger nats credentials ROLE``), beside the ledger's own.
ISSUED_ROLES = ("portal", "staff", "subscriber", "admin")
#: The ledger's own processes: the service, the relay, each worker (``worker`` with a name).
OWN_ROLES = ("ledger", "relay", "worker")
ROLES = (*OWN_ROLES, *ISSUED_ROLES)
#: Kinds a staff credential may be issued for (``--kind``).
STAFF_KINDS = ("csr", "finance")
PORTAL_PREFIX = "ledger.portal."
STAFF_PREFIX = "ledger.staff."
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
JS_API = "$JS.API"


def check_name(name: str, field: str = "name") -> str:
    """A credential's name: letters, digits, ``-`` and ``_`` (one NATS subject token), at most 64."""
    if not _NAME.fullmatch(name):
        raise ValidationError("a credential name is 1-64 letters, digits, '-' or '_'", field=field)
    return name


def user_name(role: str, name: str = "") -> str:
    """The NATS user of a credential: ``ledger``, ``relay``, ``admin``, or ``<role>-<name>``."""
    return f"{role}-{name}" if name else role


def inbox_prefix(user: str) -> str:
    """Where ``user``'s replies come: ``_INBOX_<user>`` (only that user may subscribe under it)."""
    return f"_INBOX_{user}"


def durable_of(role: str, name: str) -> str:
    """The one durable consumer on LEDGER_EVENTS a worker or subscriber credential may use."""
    return f"ledger-{name}" if role == "worker" else f"sub-{name}"


def _consumer_rights(durable: str) -> list[str]:
    """Create, look up, pull from and acknowledge on one durable consumer of LEDGER_EVENTS."""
    api = f"{JS_API}.CONSUMER"
    return [f"{api}.INFO.{EVENTS_STREAM}.{durable}", f"{api}.CREATE.{EVENTS_STREAM}.{durable}",
            f"{api}.CREATE.{EVENTS_STREAM}.{durable}.>", f"{api}.DURABLE.CREATE.{EVENTS_STREAM}.{durable}",
            f"{api}.MSG.NEXT.{EVENTS_STREAM}.{durable}", f"$JS.ACK.{EVENTS_STREAM}.{durable}.>",
            f"{JS_API}.INFO", f"{JS_API}.STREAM.INFO.{EVENTS_STREAM}"]


def _stream_reads() -> list[str]:
    """Read one message of LEDGER_EVENTS by its sequence (the relay finds its position so)."""
    return [f"{JS_API}.STREAM.MSG.GET.{EVENTS_STREAM}", f"{JS_API}.DIRECT.GET.{EVENTS_STREAM}",
            f"{JS_API}.DIRECT.GET.{EVENTS_STREAM}.>"]


class Allowed(TypedDict):
    """The subjects a user may publish or subscribe to."""

    allow: list[str]


class Permissions(TypedDict):
    """nats-server's ``permissions`` of one user (``allow_responses``: it may answer the requests it receives)."""

    publish: Allowed
    subscribe: Allowed
    allow_responses: NotRequired[bool]


def permissions(role: str, name: str = "") -> Permissions | None:
    """The permissions map of a credential (None: the admin's, everything)."""
    user = user_name(role, name)
    inbox = f"{inbox_prefix(user)}.>"
    stream = f"{JS_API}.STREAM"
    if role == "admin":
        return None
    if role == "ledger":
        served = [f"{prefix}{kind}.> {QUEUE_GROUP}" for kind in ("cmd", "read")
                  for prefix in ("ledger.", f"{PORTAL_PREFIX}*.", f"{STAFF_PREFIX}*.")]
        look = [f"{stream}.INFO.{s}" for s in (EVENTS_STREAM, DLQ_STREAM)]
        return {"publish": {"allow": [*look, f"{JS_API}.INFO", "ledger.read.ping"]},
                "subscribe": {"allow": [*served, inbox]}, "allow_responses": True}
    if role == "relay":
        return {"publish": {"allow": [f"{EVENTS_PREFIX}>", f"{JS_API}.INFO", f"{stream}.INFO.{EVENTS_STREAM}",
                                      f"{stream}.CREATE.{EVENTS_STREAM}", *_stream_reads()]},
                "subscribe": {"allow": [inbox]}}
    if role == "worker":
        own = [*_consumer_rights(durable_of(role, name)), f"{DLQ_PREFIX}{name}", f"{stream}.INFO.{DLQ_STREAM}",
               f"{stream}.CREATE.{DLQ_STREAM}", f"{stream}.CREATE.{EVENTS_STREAM}"]
        return {"publish": {"allow": own}, "subscribe": {"allow": [inbox]}}
    if role == "subscriber":
        return {"publish": {"allow": [*_consumer_rights(durable_of(role, name)), *_stream_reads()]},
                "subscribe": {"allow": [inbox]}}
    if role == "portal":
        prefix = f"{PORTAL_PREFIX}{name}"
        self_service = [f"{prefix}.cmd.{subject}" for subject, kind in COMMANDS.items() if kind in SELF_SERVICE]
        return {"publish": {"allow": [*self_service, *(f"{prefix}.read.{view}" for view in PORTAL_READS)]},
                "subscribe": {"allow": [inbox]}}
    if role == "staff":
        prefix = f"{STAFF_PREFIX}{name}"
        return {"publish": {"allow": [f"{prefix}.cmd.>", f"{prefix}.read.>"]}, "subscribe": {"allow": [inbox]}}
    raise ValidationError(f"unknown role {role!r} (roles: {', '.join(ROLES)})", field="role", code="unknown_role")
