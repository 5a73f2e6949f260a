"""Erasing a person without breaking the books: ``ledger account forget`` destroys the account's data keys.

Every sealed email and name of the account then reads ``[erased]`` wherever it is kept (events, snapshots, read
models, JetStream copies, backups of any of them), while its amounts, journal and audit trail are untouched and
the hash chain still verifies: no stored byte changes. The portal's login of the account (its email in clear,
its password hash) and its sessions are deleted. Only finance or the operator (``system``) may do it, and the
erasure is on the audit trail: a ``PersonalDataForgotten`` event on the account names who and when.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import structlog

from ledger.commands import messages as m
from ledger.errors import Forbidden
from ledger.logs import SECURITY
from ledger.ports.ids import account_uuid

if TYPE_CHECKING:
    from ledger.bootstrap import Ledger

security = structlog.get_logger(SECURITY)


class PortalLogins(Protocol):
    """The portal's credentials store (``ledger.web.credentials``), as far as erasure uses it."""

    def forget(self, account: str) -> None:
        """Erase the account's login (email, password hash), sessions and links."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


def forget_account(ledger: Ledger, account_id: str, actor: m.ActorIn, portal: Callable[[], PortalLogins]) -> int:
    """Record the erasure on the account (``PersonalDataForgotten``: refused, with nothing written or destroyed,
    for an unknown account or an actor who may not), then destroy its data keys and erase its login and sessions
    in the ``portal`` store (the login's email is kept there in clear, and the login must never be used again);
    how many keys were destroyed. Recorded first, so no erasure is ever missing from the audit trail: should
    the erasing fail, running ``forget`` again completes it (and records it again)."""
    try:
        ledger.service.handle(m.ForgetPersonalData(account=account_id, actor=actor))
    except Forbidden:
        security.warning("actor_not_allowed", logger=SECURITY, action="forget", account=account_id,
                         actor_kind=actor.kind, actor_name=actor.name)
        raise
    aggregate_id = account_uuid(account_id)
    destroyed = int(ledger.store.personal.forget(aggregate_id))
    logins = portal()
    try:
        logins.forget(account_id)
    finally:
        logins.close()
    ledger.store.recent.discard(aggregate_id)
    security.info("personal_data_forgotten", logger=SECURITY, account=account_id, keys_destroyed=destroyed,
                  actor_kind=actor.kind, actor_name=actor.name)
    return destroyed
