"""``ledger account forget`` on a ledger served as ``make run`` serves it (bundled NATS with authorization, relay,
workers, projections, Maildir): after a long history, every file the ledger wrote (and every PostgreSQL row) is
searched for the person's email and name; the books are intact and later emails are not sent."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest

from ledger.identity.credentials import Credentials
from tests.ledger_fixtures import postgres_schema_for

pytestmark = [pytest.mark.nats, pytest.mark.usefixtures("store_backend")]
EMAIL, NAME = b"forget.me@example.com", b"Forgetme"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(home: Path, store_backend: str) -> dict[str, str]:
    env = {**os.environ, "LEDGER_HOME": str(home), "LEDGER_NATS_PORT": str(free_port()), "LEDGER_NATS_DIR": "",
           "LEDGER_LOG_FORMAT": "json", "LEDGER_SNAPSHOT_INTERVAL": "10"}
    for name in ("NATS_URL", "SMTP_HOST", "LEDGER_DB"):
        env.pop(name, None)
    # the key-encryption key from the environment, as an operator sets it (it was read by the event-sourcing
    # library as its own CIPHER_KEY too, and every process failed): serve, its workers and the CLI start with it
    env.update(LEDGER_CIPHER_KEY=base64.b64encode(os.urandom(32)).decode(),
               LEDGER_CIPHER_OLD_KEYS=base64.b64encode(os.urandom(32)).decode())
    if store_backend == "postgres":
        env.update(LEDGER_STORE="postgres", LEDGER_POSTGRES_DSN=os.environ["LEDGER_TEST_POSTGRES_DSN"],
                   LEDGER_POSTGRES_SCHEMA=postgres_schema_for(home))
    return env


def ledger_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ledger", *args], env=env, capture_output=True, text=True,
                          timeout=120)


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


def postgres_text(schema: str) -> bytes:
    """Every row of every table of the store's schema, as text."""
    import psycopg

    with psycopg.connect(os.environ["LEDGER_TEST_POSTGRES_DSN"], autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("select table_name from information_schema.tables where "
                                             "table_schema = %s", (schema,))]
        return b"".join(str(conn.execute(f'select * from "{schema}"."{t}"').fetchall()).encode() for t in tables)


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
        before = set(box.iterdir())
        shown = json.loads(ledger_cli(env, "--json", "account", "show", "ACC1").stdout)
        assert (shown["email"], shown["name"]) == (EMAIL.decode(), f"Ada {NAME.decode()}")

        refused = ledger_cli(env, "--actor", "csr:jdoe", "account", "forget", "ACC1")
        assert refused.returncode == 2 and "actor_not_allowed" in refused.stderr
        forgotten = ledger_cli(env, "account", "forget", "ACC1")
        assert forgotten.returncode == 0, forgotten.stderr

        await command(nc, "account.resend_invite", account="ACC1")
        await command(nc, "invoice.issue", account="ACC1", invoice="LATE", amount="5.00", date="2026-09-02",
                      due="2026-09-30")
        await command(nc, "payment.submit", account="ACC1", payment="PLATE", amount="5.00", method="card",
                      token="tok_visa", distribute=True)
        await until(lambda: asyncio.sleep(0, log_path.read_text().count("email_not_sent_account_forgotten") >= 2),
                    "the later emails to be skipped")
        assert set(box.iterdir()) == before  # no email was sent after the forget
        await nc.close()

        after = json.loads(ledger_cli(env, "--json", "account", "show", "ACC1").stdout)
        assert (after["email"], after["name"]) == ("[erased]", "[erased]")
        assert after["balance"] == "0.00" and len(after["payments"]) == 16  # the books are intact
        verified = ledger_cli(env, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        server.terminate()
        assert server.wait(timeout=60) == 0
    leaks = [path for path in tmp_path.rglob("*") if path.is_file() and path not in before
             and (EMAIL in path.read_bytes() or NAME in path.read_bytes())]
    assert leaks == []
    assert any((tmp_path / "nats" / "js").rglob("*.blk"))  # JetStream's files were searched too
    if store_backend == "postgres":
        rows = postgres_text(env["LEDGER_POSTGRES_SCHEMA"])
        assert len(rows) > 1000  # the events, snapshots and keys were read
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
