"""``ledger.personal.erasure.forget_account`` in process: its security log lines, the Maildir of the embedded
defaults, the portal's failed-login rows (issue 17)."""

from __future__ import annotations

import pytest

from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.errors import Forbidden
from ledger.logs import SECURITY
from ledger.personal.erasure import forget_account
from tests.ledger_fixtures import captured_logs

pytestmark = pytest.mark.usefixtures("store_backend")


class NoLogins:
    """A portal store with no login to erase."""

    def forget(self, account: str) -> None:
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
