"""``ledger.personal.erasure.forget_account`` in process: its security log lines, the Maildir of the embedded
defaults, the portal's failed-login rows (issue 17)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest

from ledger.adapters.mailers import MaildirMailer
from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.errors import Forbidden
from ledger.logs import SECURITY
from ledger.personal.erasure import forget_account
from ledger.ports.mailer import Email
from ledger.web.credentials import CredentialStore, email_key
from tests.ledger_fixtures import captured_logs

pytestmark = pytest.mark.usefixtures("store_backend")


class NoLogins:
    """A portal store with no login to erase."""

    def erase(self, account: str, emails: Iterable[str] = ()) -> None:
        pass

    def close(self) -> None:
        pass


def test_the_erasure_and_its_refusal_are_written_to_the_security_log(ledger: Ledger) -> None:
    """Before, both lines had no ``logger: security`` and went to the main log, not ``security.log``."""
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com", name="Ada"))
    with captured_logs() as logged, pytest.raises(Forbidden):
        forget_account(ledger, "ACC1", m.ActorIn(kind="csr", name="jdoe"), NoLogins)
    with captured_logs() as done:
        forget_account(ledger, "ACC1", m.ActorIn(kind="finance", name="fay"), NoLogins)
    [refused] = [line for line in logged if line["event"] == "actor_not_allowed"]
    [erased] = [line for line in done if line["event"] == "personal_data_forgotten"]
    assert refused["logger"] == erased["logger"] == SECURITY
    assert (refused["actor_kind"], erased["actor_name"]) == ("csr", "fay")


def test_forget_erases_the_emails_the_ledger_delivered_to_its_own_maildir(ledger: Ledger) -> None:
    """Emails sent before the forget stayed in ``$LEDGER_HOME/mail`` with the address and "Hello Ada Secret"; now
    every message addressed to the account (unread, read, half-written, whatever the address's case) is
    overwritten and deleted, and another person's email stays."""
    ledger.service.handle(m.OpenAccount(account="ACC1", email="Ada.Secret@example.com", name="Ada Secret"))
    folder = ledger.settings.home / "mail"
    mailer = MaildirMailer(folder)
    for number, to in enumerate(("Ada Secret <ada.secret@example.com>", "ADA.SECRET@example.com", "bo@example.com")):
        asyncio.run(mailer.send(Email(to=to, subject="Receipt", text="Hello Ada Secret", html="<p>Hello</p>",
                                      message_id=f"m{number}")))
    (folder / "new" / "m1").rename(folder / "cur" / "m1:2,S")  # read in a mail reader
    (folder / "tmp" / "m9.1").write_bytes(b"To: ada.secret@example.com\nSubj")  # a writer killed half-way
    kept = (folder / "new" / "m2").read_bytes()
    forget_account(ledger, "ACC1", m.ActorIn(kind="finance", name="fay"), NoLogins)
    left = [path for path in folder.rglob("*") if path.is_file()]
    assert left == [folder / "new" / "m2"] and left[0].read_bytes() == kept


def test_forget_deletes_the_failed_logins_of_the_accounts_email(ledger: Ledger) -> None:
    """The account's email (read before its key is destroyed) reaches the portal store: its failed-login rows go
    even when the account has no login."""
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com", name="Ada"))
    portal = CredentialStore(ledger.settings.home / "portal.db")
    portal.failed(email_key("ADA@example.com"))
    forget_account(ledger, "ACC1", m.ActorIn(kind="finance", name="fay"), lambda: portal)
    reopened = CredentialStore(ledger.settings.home / "portal.db", secret=portal._secret)
    assert reopened.failures(email_key("ada@example.com")) == (0, 0.0)
    reopened.close()
