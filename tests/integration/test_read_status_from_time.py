"""Issue 14, seeds 002 and 004: a read shows what is true now, not only what the scheduler recorded.

Without the scheduler running, a 30-day-old hold is expired (good for 29 days) and a 73-hour-old invitation is
expired (valid 72 hours): ``account show`` says so before the expiries are on record."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ledger_fixtures import LedgerCli


def test_account_show_derives_hold_and_invitation_expiry_from_time(tmp_path: Path) -> None:
    cli = LedgerCli(tmp_path)
    for args in (("account", "open", "ACC1", "--email", "c@example.com"), ("account", "invite", "ACC1"),
                 ("order", "place", "ACC1", "O1", "--amount", "99.00"),
                 ("auth", "create", "ACC1", "A1", "--order", "O1", "--amount", "99.00", "--token", "tok_visa")):
        done = cli(*args)
        assert done.exit_code == 0, done.output

    def show(at: str) -> dict[str, object]:
        done = cli.runner.invoke(cli_main, ["--at", at, "--json", "account", "show", "ACC1"], env=cli.env)
        assert done.exit_code == 0, done.output
        shown: dict[str, object] = json.loads(done.stdout)
        return shown

    from ledger.cli.main import cli as cli_main

    soon = show("2026-09-13T11:00")  # 71 hours after the invitation
    assert soon["portal"] == "pending"
    assert [a["status"] for a in soon["authorizations"]] == ["active"]  # type: ignore[attr-defined]
    later = show("2026-09-13T13:00")  # 73 hours after
    assert later["portal"] == "expired"
    assert [a["status"] for a in show("2026-10-10T12:00")["authorizations"]] == ["expired"]  # type: ignore[attr-defined]
