"""Run a command again against what the gateway already did: how reconciliation records a charge, capture or
refund whose command was cut off between the gateway's act and the ledger's write.

The command (kept with its intent, :mod:`ledger.store.intents`, without its token) runs through the ordinary
command service, so every rule of recording applies (what is no longer open becomes the customer's credit,
:func:`ledger.commands.gateway_calls.overtaken_charge`); its gateway answers each call with what it did under
the call's idempotency key and never acts: nothing is charged, held, captured or refunded twice.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec

from ledger.commands import messages as m
from ledger.commands.dispatch import LedgerService
from ledger.errors import GatewayUnavailable
from ledger.ports import Ports
from ledger.ports.gateway import AuthorizationResult, ChargeResult, Gateway
from ledger.store.application import LedgerStore


class AnswersOnly:
    """A gateway that answers what the real one did under each idempotency key, and does nothing new."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gateway, name)  # find, void (harmless to repeat), ach_status, transactions

    def _done(self, idempotency_key: str) -> ChargeResult:
        found = self.gateway.find(idempotency_key=idempotency_key)
        if found is None:
            raise GatewayUnavailable("reconciliation only records what the gateway did; nothing was done here")
        return found

    def charge(self, *, idempotency_key: str, **_: Any) -> ChargeResult:
        """What was charged under the key."""
        return self._done(idempotency_key)

    def capture(self, *, idempotency_key: str, **_: Any) -> ChargeResult:
        """What was captured under the key."""
        return self._done(idempotency_key)

    def refund(self, *, idempotency_key: str, **_: Any) -> ChargeResult:
        """What was refunded under the key."""
        return self._done(idempotency_key)

    def authorize(self, *, idempotency_key: str, **_: Any) -> AuthorizationResult:
        """Holds are never recorded afterwards (reconciliation voids an unrecorded one): refused."""
        raise GatewayUnavailable("reconciliation does not place or record holds")


def command_of(stored: str, token: str | None) -> m.Command | None:
    """The command an intent kept (``{"type", "body"}``), with the gateway's ``token`` of the method put back;
    None when the intent kept none or names no command."""
    if not stored:
        return None
    kept = msgspec.json.decode(stored)
    kind = getattr(m, str(kept.get("type")), None)
    if not (isinstance(kind, type) and issubclass(kind, m.Command)):
        return None
    body = dict(kept["body"])
    if "token" in kind.__struct_fields__ and token is not None:
        body["token"] = token
    return msgspec.convert(body, kind)


def record_again(store: LedgerStore, ports: Ports, command: m.Command) -> m.Outcome:
    """Run ``command`` once more against the gateway's recorded answers (raises its refusal, if any)."""
    return LedgerService(store, replace(ports, gateway=AnswersOnly(ports.gateway))).handle(command)
