"""``ledger serve`` (what ``make run`` runs) from the outside: bundled nats-server, a command over NATS, the
receipt in the Maildir, a portal's refused request in ``security.log`` only, a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import mailbox
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import msgspec
import nats
import pytest

from ledger.identity.credentials import Credentials

pytestmark = pytest.mark.nats


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: A guest paying with a customer's saved card through the portal: refused, and written in the security log alone.
#: (A credit memo from a portal never reaches the ledger: the server refuses the publish.)
REFUSED = "ledger.portal.web.cmd.payment.submit"


async def test_serve_runs_everything_on_the_embedded_defaults(tmp_path: Path) -> None:
    env = {**os.environ, "LEDGER_HOME": str(tmp_path), "LEDGER_NATS_PORT": str(free_port()),
           "LEDGER_LOG_FORMAT": "json", "LEDGER_NATS_DIR": ""}
    env.pop("NATS_URL", None)
    env.pop("SMTP_HOST", None)
    server = subprocess.Popen([sys.executable, "-m", "ledger", "serve"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        url = ""
        assert server.stderr is not None
        for _ in range(200):
            line = server.stderr.readline()
            if '"ledger_serving"' in line:
                url = json.loads(line)["nats"]
                break
        assert url.startswith("nats://127.0.0.1:")
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):  # nothing anonymous
            await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0)
        assert oct((tmp_path / "nats").stat().st_mode & 0o777) == "0o700"
        # the key-encryption key of personal data is made at the first start, before any account is opened
        assert oct((tmp_path / "cipher.key").stat().st_mode & 0o777) == "0o600"
        admin = Credentials(tmp_path / "nats").get("admin")
        nc = await nats.connect(url, user=admin.user, password=admin.password)
        for subject, body in (("ledger.cmd.account.open", {"account": "ACC1", "email": "ada@example.com"}),
                              ("ledger.cmd.payment.submit", {"account": "ACC1", "payment": "P1", "amount": "9.00",
                                                             "method": "card", "token": "tok_visa",
                                                             "deposit": True})):
            reply = msgspec.json.decode((await nc.request(subject, msgspec.json.encode(body), timeout=10)).data)
            assert "ok" in reply, reply
        await nc.close()
        portal = await nats.connect(url, **Credentials(tmp_path / "nats").connect_options("portal", "web"))
        memo = {"account": "ACC1", "payment": "P2", "amount": "500.00", "method": "card", "saved": "M1",
                "key": "ada@example.com", "distribute": True}
        reply = msgspec.json.decode((await portal.request(REFUSED, msgspec.json.encode(memo), timeout=10)).data)
        assert reply["error"]["code"] == "actor_not_allowed"
        await portal.close()
        box = tmp_path / "mail"
        for _ in range(200):
            if box.exists() and len(mailbox.Maildir(str(box), create=False)) >= 1:
                break
            await asyncio.sleep(0.05)
        [message] = list(mailbox.Maildir(str(box), create=False))
        assert message["To"] == "ada@example.com" and "9.00" in message["Subject"]
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    main_log = server.stderr.read()
    assert REFUSED not in main_log and "actor_not_allowed" not in main_log  # not a command_handled line either
    security_log = tmp_path / "security.log"
    assert oct(security_log.stat().st_mode & 0o777) == "0o600"
    [refusal] = [json.loads(line) for line in security_log.read_text().splitlines()]
    assert (refusal["logger"], refusal["event"], refusal["subject"], refusal["user"], refusal["account"]) == (
        "security", "actor_not_allowed", REFUSED, "portal-web", "ACC1")
    assert "500.00" not in str(refusal) and "ada@example.com" not in str(refusal)  # never the request's body
