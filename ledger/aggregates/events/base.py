"""The event base: every fact on an aggregate is an immutable, versioned msgspec Struct.

Events carry who did it (:class:`Actor`: guest, customer, CSR, finance, system, worker) and through which
channel, so the audit log can say "Other – Payment Applied by CSR jdoe at 10:42" (seed 000). They never carry a card
number, a password or a raw token: gateway tokens and hashes only.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

import msgspec

from ledger.errors import ValidationError

#: An amount of money in minor units of the account's currency (cents, yen, fils): the type of every money field,
#: so that readers (the audit log, the schema) know which integers are money without guessing from names.
Minor = Annotated[int, msgspec.Meta(description="An amount in minor units of the account's currency.")]

ACTOR_KINDS = frozenset({"guest", "customer", "csr", "finance", "system", "worker"})
CHANNELS = frozenset({"web", "portal", "pos", "phone", "email", "csr", "api", "cli", "nats", "system", "gateway"})


class Actor(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """Who did something, and through which channel; ``via``: the NATS credential (user) the request came in on
    when it was not the actor's own (a portal's customer or guest, a staff tool's signed-in member), absent
    otherwise (so events recorded before it encode and hash as they did)."""

    kind: str
    name: str
    channel: str
    via: Annotated[str, msgspec.Meta(description="The NATS user whose credential carried the request (a portal's "
                                                 "or staff tool's), when it is not the actor's own.")] = ""

    def describe(self) -> str:
        """Human form for audit comments: "CSR jdoe", "guest", "customer c-8431 via portal-web", "system"."""
        label = {"csr": "CSR", "finance": "Finance"}.get(self.kind, self.kind)
        who = f"{label} {self.name}" if self.name and self.name != self.kind else label
        return f"{who} via {self.via}" if self.via else who


SYSTEM = Actor(kind="system", name="system", channel="system")


class Context(msgspec.Struct, frozen=True):
    """The when and who of one command: the time comes from the clock port, never from the domain."""

    at: datetime
    by: Actor = SYSTEM

    def stamp(self, newest: datetime | None, whose: str) -> datetime:
        """The time of an event recorded after ``newest`` (the aggregate's newest event): the command's own.

        An aggregate's history is in time order, which statements, as-of replays and the audit log rely on, so a
        command whose time is before the newest event (``ledger --at`` in the past) is refused, naming ``at``.
        """
        if newest is not None and self.at < newest:
            raise ValidationError(f"{whose} has events up to {newest.isoformat()}; nothing can be recorded before "
                                  f"that (requested {self.at.isoformat()})", field="at", code="before_newest_event")
        return self.at


def event_uuid(originator_id: UUID, version: int) -> str:
    """``str(uuid5(originator_id, str(version)))``, computed without building UUID objects (hot in rebuilds)."""
    digest = bytearray(hashlib.sha1(originator_id.bytes + str(version).encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


#: Every concrete event class by its public name; filled by :meth:`Event.__init_subclass__`.
EVENT_TYPES: dict[str, type[Event]] = {}


class Event(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base of all ledger events; ``class_version`` rises when a field changes (see ``ledger.store.topics``).

    ``gc=False``: an event holds values only (never a reference back to something holding it), so the cyclic
    collector need not track the millions decoded by a rebuild or a replay.
    """

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    by: Actor = SYSTEM

    class_version: ClassVar[int] = 1
    #: The area of the event catalogue (access, orders, invoices, payments, credits, ...).
    area: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.area and not cls.__name__.endswith("Event"):
            EVENT_TYPES[cls.__name__] = cls

    @property
    def event_id(self) -> str:
        """Stable id of this event: uuid5(originator_id, version), the same on every replay (the NATS msg id)."""
        return event_uuid(self.originator_id, self.originator_version)

    @property
    def name(self) -> str:
        """The event's public type name, e.g. ``PaymentApplied``."""
        return type(self).__name__
