"""The base of every command message, who sends it (:class:`ActorIn`) and what it did (:class:`Outcome`)."""

from __future__ import annotations

import msgspec


class ActorIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who sends the command; the edge (CLI, NATS) fills it in."""

    kind: str = "system"
    name: str = "system"
    channel: str = "api"
    #: The NATS user that carried a portal's or staff tool's request: the binder sets it from the subject
    #: (:mod:`ledger.identity.binding`), whatever the body says.
    via: str = ""


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every command: a typed message the edge decodes and the dispatcher hands to its one handler
    (:data:`ledger.commands.handlers.HANDLERS`). Most address one account (:class:`AccountCommand`); a guest
    payment awaiting research has none yet."""


class AccountCommand(Command, frozen=True, kw_only=True):
    """Base of the commands on one account, addressed by its business id."""

    account: str
    actor: ActorIn | None = None


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a command did: the events it recorded, or ``replayed`` when an idempotent repeat did nothing."""

    account: str | None
    reference: str
    events: tuple[str, ...] = ()
    status: str | None = None
    transaction_id: str | None = None
    replayed: bool = False
    detail: str = ""
