"""Erasing a person without breaking the books: ``ledger account forget`` destroys the account's data keys.

Every sealed email and name of the account then reads ``[erased]`` wherever it is kept (events, snapshots, read
models, JetStream copies, backups of any of them), while its amounts, journal and audit trail are untouched and
the hash chain still verifies: no stored byte changes. The portal's login of the account (its email in clear,
its password hash), its sessions and the failed-login counters of its email are deleted, and the emails the
ledger delivered to its own Maildir (``$LEDGER_HOME/mail``, when there is no SMTP relay) addressed to it are
overwritten and deleted (:mod:`ledger.personal.maildir`). Out of reach: mail already delivered over SMTP (the
recipient's), backups and log lines shipped elsewhere (the ledger never logs an email or a name). Only finance or
the operator (``system``) may do it, and the erasure is on the audit trail: a ``PersonalDataForgotten`` event on
the account names who and when.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

import structlog

from ledger.commands import messages as m
from ledger.errors import Forbidden
from ledger.logs import SECURITY
from ledger.personal.maildir import erase_mail
from ledger.personal.vault import ERASED
from ledger.ports.ids import account_uuid

if TYPE_CHECKING:
    from ledger.bootstrap import Ledger

security = structlog.get_logger(SECURITY)


class PortalLogins(Protocol):
    """The portal's credentials store (``ledger.web.credentials``), as far as erasure uses it."""

    def erase(self, account: str, emails: Iterable[str] = ()) -> None:
        """Erase the account's login (email, password hash), sessions, links and the failed logins of its email
        and of ``emails``, leaving none of their bytes in the store's files."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


def forget_account(ledger: Ledger, account_id: str, actor: m.ActorIn, portal: Callable[[], PortalLogins]) -> int:
    """Record the erasure on the account (``PersonalDataForgotten``: refused, with nothing written or destroyed,
    for an unknown account or an actor who may not), then destroy its data keys, erase its login, sessions and
    failed logins in the ``portal`` store (the login's email is kept there in clear, and the login must never be
    used again) and the Maildir's emails to its address; how many keys were destroyed. Recorded first, so no
    erasure is ever missing from the audit trail; the address is read before the keys go, and the Maildir swept
    before and after: should the erasing fail, running ``forget`` again completes it (and records it again),
    and an email a worker was writing as the keys went is caught by the second sweep."""
    try:
        ledger.service.handle(m.ForgetPersonalData(account=account_id, actor=actor))
    except Forbidden:
        security.warning("actor_not_allowed", logger=SECURITY, action="forget", account=account_id,
                         actor_kind=actor.kind, actor_name=actor.name)
        raise
    aggregate_id = account_uuid(account_id)
    email = ledger.store.personal.reveal(aggregate_id, ledger.store.account(aggregate_id).state.email)
    addresses = () if email == ERASED else (email,)
    mail = ledger.settings.home / "mail"
    emails_erased = erase_mail(mail, addresses)
    destroyed = int(ledger.store.personal.forget(aggregate_id))
    logins = portal()
    try:
        logins.erase(account_id, addresses)
    finally:
        logins.close()
    ledger.store.recent.discard(aggregate_id)
    emails_erased += erase_mail(mail, addresses)
    security.info("personal_data_forgotten", logger=SECURITY, account=account_id, keys_destroyed=destroyed,
                  emails_erased=emails_erased, actor_kind=actor.kind, actor_name=actor.name)
    return destroyed
