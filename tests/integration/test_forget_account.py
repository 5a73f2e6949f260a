"""``ledger account forget`` on a ledger served as ``make run`` serves it (bundled NATS with authorization, relay,
workers, projections, the portal, Maildir): after a long history and a portal login registered through the
invitation's pages, every file the ledger wrote (and every PostgreSQL row, the portal's schema too) is searched
for the person's email and name, the Maildir's emails sent before the forget included (they were kept); the books
are intact, the login is gone and later emails are not sent, by the email worker nor by the portal."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
import pytest

from ledger.identity.credentials import Credentials
from tests.ledger_fixtures import cli_store, ledger_cli

pytestmark = [pytest.mark.nats, pytest.mark.usefixtures("store_backend")]
EMAIL, NAME = b"forget.me@example.com", b"Forgetme"
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(home: Path, store_backend: str) -> dict[str, str]:
    env = {**os.environ, "LEDGER_HOME": str(home), "LEDGER_NATS_PORT": str(free_port()), "LEDGER_NATS_DIR": "",
           "LEDGER_LOG_FORMAT": "json", "LEDGER_SNAPSHOT_INTERVAL": "10", "LEDGER_HTTP_PORT": str(free_port())}
    for name in ("NATS_URL", "SMTP_HOST", "LEDGER_DB"):
        env.pop(name, None)
    # the key-encryption key from the environment, as an operator sets it (it was read by the event-sourcing
    # library as its own CIPHER_KEY too, and every process failed): serve, its workers and the CLI start with it
    env.update(LEDGER_CIPHER_KEY=base64.b64encode(os.urandom(32)).decode(),
               LEDGER_CIPHER_OLD_KEYS=base64.b64encode(os.urandom(32)).decode())
    return {**env, **cli_store(home, store_backend)}


async def command(nc: Any, subject: str, **body: Any) -> Any:
    reply = msgspec.json.decode((await nc.request(f"ledger.cmd.{subject}", msgspec.json.encode(body), timeout=20)).data)
    assert "ok" in reply, reply
    return reply["ok"]


async def until(check: Any, what: str) -> None:
    for _ in range(600):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def postgres_text(*schemas: str) -> bytes:
    """Every row of every table of the schemas, as text."""
    import psycopg

    with psycopg.connect(os.environ["LEDGER_TEST_POSTGRES_DSN"], autocommit=True) as conn:
        tables = conn.execute("select table_schema, table_name from information_schema.tables where "
                              "table_schema = any(%s)", (list(schemas),)).fetchall()
        return b"".join(str(conn.execute(f'select * from "{s}"."{t}"').fetchall()).encode() for s, t in tables)


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(os.environ["LEDGER_TEST_POSTGRES_DSN"], autocommit=True) as conn:
        conn.execute(f'drop schema if exists "{schema}" cascade')


async def submit(web: httpx.AsyncClient, page: str, **fields: str) -> httpx.Response:
    """GET a portal page, then POST its form with its CSRF token and ``fields``."""
    token = CSRF.search((await web.get(page)).text)
    assert token is not None, page
    return await web.post(page, data={"_csrf_token": token.group(1), **fields})


async def link_in_mail(box: Path, path: str, known: set[Path]) -> str:
    """The portal link to ``path`` in the first new email in the Maildir (not in ``known``)."""
    pattern = re.compile(rf"https?://[^/\s]+(/portal/{path}[^\s<\"]*)".encode())
    for _ in range(600):
        for file in set(box.iterdir()) - known:
            found = pattern.search(file.read_bytes())
            if found:
                return found.group(1).decode()
        await asyncio.sleep(0.05)
    raise AssertionError(f"no email with a {path} link")


async def register_portal_login(web: httpx.AsyncClient, box: Path) -> None:
    """The invitation's pages as the customer uses them: set the password, Confirm, log in (a session)."""
    invitation = await link_in_mail(box, "invitation/", set())
    registered = await submit(web, invitation, password=PASSWORD, confirm=PASSWORD)
    assert registered.status_code == 200 and "Click Confirm" in registered.text, registered.text
    confirm = await link_in_mail(box, "confirm/", set())
    assert (await submit(web, confirm)).status_code == 303
    logged_in = await submit(web, "/portal/login", email=EMAIL.decode(), password=PASSWORD)
    assert logged_in.status_code == 303 and web.cookies.get("portal_session")


async def test_a_forgotten_account_leaves_no_email_or_name_anywhere(tmp_path: Path, store_backend: str) -> None:
    env = environment(tmp_path, store_backend)
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([sys.executable, "-m", "ledger", "serve"], env=env, stderr=log)
    try:
        url = ""
        for _ in range(600):
            lines = log_path.read_text().splitlines()
            found = [json.loads(line)["nats"] for line in lines if '"ledger_serving"' in line]
            if found:
                url = found[0]
                break
            await asyncio.sleep(0.05)
        [http_url] = [json.loads(line)["http_url"] for line in log_path.read_text().splitlines()
                      if '"portal_listening"' in line]
        web = httpx.AsyncClient(base_url=http_url, timeout=30)
        admin = Credentials(tmp_path / "nats").get("admin")
        nc = await nats.connect(url, user=admin.user, password=admin.password)
        await command(nc, "account.open", account="ACC1", email=EMAIL.decode(), name=f"Ada {NAME.decode()}")
        await command(nc, "account.invite", account="ACC1")
        for i in range(15):
            await command(nc, "invoice.issue", account="ACC1", invoice=f"I{i}", amount="10.00", date="2026-09-01",
                          due="2026-09-30")
            await command(nc, "payment.submit", account="ACC1", payment=f"P{i}", amount="10.00", method="card",
                          token="tok_visa", distribute=True)
        box = tmp_path / "mail" / "new"
        await until(lambda: asyncio.sleep(0, box.exists() and len(list(box.iterdir())) >= 16), "16 emails")
        await register_portal_login(web, box)
        before = set(box.iterdir())
        shown = json.loads(ledger_cli(env, "--json", "account", "show", "ACC1").stdout)
        assert (shown["email"], shown["name"]) == (EMAIL.decode(), f"Ada {NAME.decode()}")

        refused = ledger_cli(env, "--actor", "csr:jdoe", "account", "forget", "ACC1")
        assert refused.returncode == 2 and "actor_not_allowed" in refused.stderr
        refusals = [json.loads(line) for line in (tmp_path / "security.log").read_text().splitlines()]
        assert any(r.get("action") == "forget" and r["event"] == "actor_not_allowed" for r in refusals)  # the CLI's
        forgotten = ledger_cli(env, "--actor", "finance:fay", "account", "forget", "ACC1")
        assert forgotten.returncode == 0, forgotten.stderr
        # the audit trail says who forgot the account and when (the refused CSR wrote nothing), with no personal data
        trail = json.loads(ledger_cli(env, "--json", "audit", "log", "--account", "ACC1", "--limit", "1000").stdout)
        erasures = [row for row in trail if row["event"] == "PersonalDataForgotten"]
        assert [(row["actor_kind"], row["actor_name"], row["details"]) for row in erasures] == [("finance", "fay", "")]

        await command(nc, "account.send_statement", account="ACC1", period_from="2026-09-01", period_to="2026-09-30")
        await command(nc, "invoice.issue", account="ACC1", invoice="LATE", amount="5.00", date="2026-09-02",
                      due="2026-09-30")
        await command(nc, "payment.submit", account="ACC1", payment="PLATE", amount="5.00", method="card",
                      token="tok_visa", distribute=True)
        await until(lambda: asyncio.sleep(0, log_path.read_text().count("email_not_sent_account_forgotten") >= 2),
                    "the later emails to be skipped")
        # the portal's login is gone with its session: the right password no longer logs in, and neither a login
        # attempt nor a reset request sends anything
        assert (await web.get("/portal/")).status_code in (302, 303, 401)
        refused_login = await submit(web, "/portal/login", email=EMAIL.decode(), password=PASSWORD)
        assert refused_login.status_code == 400 and "not right" in refused_login.text
        assert (await submit(web, "/portal/forgot", email=EMAIL.decode())).status_code == 200
        assert len(before) >= 17 and list(box.iterdir()) == []  # those sent before were erased, none sent after
        await nc.close()
        await web.aclose()

        after = json.loads(ledger_cli(env, "--json", "account", "show", "ACC1").stdout)
        assert (after["email"], after["name"]) == ("[erased]", "[erased]")
        assert after["balance"] == "0.00" and len(after["payments"]) == 16  # the books are intact
        verified = ledger_cli(env, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        server.terminate()
        assert server.wait(timeout=60) == 0
    leaks = [path for path in tmp_path.rglob("*") if path.is_file()
             and (EMAIL in path.read_bytes() or NAME in path.read_bytes())]
    assert leaks == []
    assert any((tmp_path / "nats" / "js").rglob("*.blk"))  # JetStream's files were searched too
    assert (tmp_path / "portal.db").exists() or store_backend == "postgres"  # the portal's store was searched
    if store_backend == "postgres":
        schema = env["LEDGER_POSTGRES_SCHEMA"]
        try:
            rows = postgres_text(schema, f"{schema}_portal")
        finally:
            drop_schema(f"{schema}_portal")
        # the events, snapshots, keys and the portal's tables were read (a failed-login row: an HMAC, a count)
        assert len(rows) > 1000 and re.search(rb"\('[0-9a-f]{64}', [0-9]+, ", rows)
        assert EMAIL not in rows and NAME not in rows


def test_rotating_a_forgotten_accounts_key_is_refused_and_it_stays_erased(tmp_path: Path,
                                                                          store_backend: str) -> None:
    """``keys rotate`` after ``account forget`` made a fresh key ``0001``: the values sealed under the destroyed
    ``0001`` then failed to open and ``account show`` errored instead of showing ``[erased]`` (found by review)."""
    env = environment(tmp_path / "home", store_backend)
    assert ledger_cli(env, "account", "open", "F1", "--email", "f@example.com", "--name", "Fay").returncode == 0
    assert ledger_cli(env, "account", "forget", "F1").returncode == 0
    rotated = ledger_cli(env, "keys", "rotate", "F1")
    assert rotated.returncode == 2 and "account_forgotten" in rotated.stdout + rotated.stderr, rotated
    shown = ledger_cli(env, "account", "show", "F1")
    assert shown.returncode == 0 and "[erased]" in shown.stdout and "Fay" not in shown.stdout, shown
