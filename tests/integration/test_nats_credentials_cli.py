"""``ledger nats credentials / revoke / config``: credentials under ``$LEDGER_HOME/nats`` readable by their owner
only, printed as one ``user:password`` line, and the server configuration that admits exactly them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ledger_fixtures import LedgerCli


def test_credentials_are_issued_printed_and_revoked(tmp_path: Path) -> None:
    cli = LedgerCli(tmp_path)
    cli.env["LEDGER_NATS_DIR"] = ""  # this ledger's own folder, not the test session's
    issued = cli("nats", "credentials", "portal", "--name", "web")
    assert issued.exit_code == 0, issued.output
    user, _, password = issued.output.strip().partition(":")
    assert user == "portal-web" and len(password) >= 40
    folder = tmp_path / "nats"
    assert folder.stat().st_mode & 0o777 == 0o700
    for name in ("users.json", "server.conf"):
        assert (folder / name).stat().st_mode & 0o777 == 0o600
    printed = cli("nats", "config").output
    assert printed.startswith("authorization: ")
    users = {entry["user"]: entry for entry in json.loads(printed.removeprefix("authorization: "))["users"]}
    assert {"ledger", "relay", "admin", "worker-emails", "worker-orders", "worker-autopay", "portal-web"} <= set(users)
    assert users["portal-web"]["password"] == password
    portal = users["portal-web"]["permissions"]["publish"]["allow"]
    assert "ledger.portal.web.cmd.payment.submit" in portal and "ledger.portal.web.read.unpaid" in portal
    assert all(s.startswith("ledger.portal.web.") and ">" not in s and ".cmd.credit." not in s for s in portal)
    assert "permissions" not in users["admin"]
    assert cli("nats", "credentials", "staff").exit_code == 2  # a staff credential names its member
    revoked = cli("nats", "revoke", "portal", "--name", "web")
    assert revoked.exit_code == 0 and "revoked portal-web" in revoked.output
    assert "portal-web" not in cli("nats", "config").output
    assert cli("nats", "revoke", "portal", "--name", "web").exit_code == 2
