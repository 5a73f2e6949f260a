"""Issue 14, seeds 002 and 003: "Only one login is supported per customer using the primary email".

A login must identify one customer: an email (compared case-insensitively) gives portal access to one account
only. Accounts may share an email (a household, a business and its owner) until one of them is invited; then
any other is refused portal access (``email_in_use``, naming ``email``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.errors import Conflict
from ledger.ports.ids import account_uuid
from tests.ledger_fixtures import LedgerCli


def test_an_email_gives_portal_access_to_one_account_only(tmp_path: Path) -> None:
    cli = LedgerCli(tmp_path)
    for account, email in (("A1", "same@example.com"), ("A2", "SAME@example.com"), ("A3", "other@example.com")):
        done = cli("account", "open", account, "--email", email)
        assert done.exit_code == 0, done.output
    assert cli("account", "invite", "A1").exit_code == 0
    refused = cli("--json", "account", "invite", "A2")
    assert refused.exit_code == 2
    assert (json.loads(refused.stdout)["error"]["code"], json.loads(refused.stdout)["error"]["field"]) == (
        "email_in_use", "email")
    assert cli("account", "invite", "A3").exit_code == 0
    assert cli("account", "resend-invite", "A1").exit_code == 0  # the holder's own login, again


def test_a_refused_invitation_writes_nothing(ledger: Ledger) -> None:
    handle = ledger.service.handle
    handle(m.OpenAccount(account="A1", email="same@example.com"))
    handle(m.OpenAccount(account="A2", email="Same@Example.com"))
    handle(m.SendInvitation(account="A1"))
    before = ledger.store.recorder.max_notification_id()
    with pytest.raises(Conflict) as refused:
        handle(m.SendInvitation(account="A2"))
    assert (refused.value.code, refused.value.field) == ("email_in_use", "email")
    assert ledger.store.recorder.max_notification_id() == before
    assert ledger.store.account(account_uuid("A2")).state.invitation is None
