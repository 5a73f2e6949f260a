"""Erasing a person without breaking the books: ``ledger account forget`` destroys the account's data keys.

Every sealed email and name of the account then reads ``[erased]`` wherever it is kept (events, snapshots, read
models, JetStream copies, backups of any of them), while its amounts, journal and audit trail are untouched and
the hash chain still verifies: no stored byte changes. The portal's login of the account (its email in clear,
its password hash) and its sessions are deleted. Only finance or the operator (``system``) may do it.
"""

from __future__ import annotations

from typing import Protocol

import structlog

from ledger.errors import Forbidden
from ledger.ports.ids import account_uuid
from ledger.store.application import LedgerStore

security = structlog.get_logger("ledger.security")
#: Who may erase a person's data: finance, or the operator on the host (the CLI's default actor).
MAY_FORGET = ("finance", "system")


class PortalLogins(Protocol):
    """The portal's credentials store (``ledger.web.credentials``), as far as erasure uses it."""

    def forget(self, account: str) -> None:
        """Erase the account's login (email, password hash), sessions and links."""
        ...


def forget_account(store: LedgerStore, portal: PortalLogins, account_id: str, actor_kind: str,
                   actor_name: str) -> int:
    """Destroy the data keys of ``account_id`` (which must exist) and erase its portal login and sessions (the
    login's email is kept there in clear, and the login must never be used again); how many keys were
    destroyed."""
    if actor_kind not in MAY_FORGET:
        security.warning("actor_not_allowed", action="forget", account=account_id, actor_kind=actor_kind,
                         actor_name=actor_name)
        raise Forbidden(f"a {actor_kind} may not forget an account; finance or an operator may", field="actor.kind")
    aggregate_id = account_uuid(account_id)
    store.account(aggregate_id)  # NotFound for an unknown account
    destroyed = int(store.personal.forget(aggregate_id))
    portal.forget(account_id)
    store.recent.discard(aggregate_id)
    security.info("personal_data_forgotten", account=account_id, keys_destroyed=destroyed, actor_kind=actor_kind,
                  actor_name=actor_name)
    return destroyed
