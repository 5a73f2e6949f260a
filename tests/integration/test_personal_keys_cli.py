"""The key-encryption key of personal data from the environment, and its rotation, through the CLI on SQLite and
PostgreSQL exactly as docs/operations.md ("Rotating the keys of personal data") tells an operator to do it."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from pathlib import Path

import pytest

from ledger.personal.vault import kek_id
from tests.ledger_fixtures import cli_store, ledger_cli

pytestmark = pytest.mark.usefixtures("store_backend")


def new_key() -> str:
    """A key-encryption key as the docs make one: base64 of 32 random bytes."""
    return base64.b64encode(os.urandom(32)).decode()


def environment(home: Path, store_backend: str, **keys: str) -> dict[str, str]:
    env = {**os.environ, "LEDGER_HOME": str(home), "LEDGER_LOG_FORMAT": "json", **keys}
    for name in ("LEDGER_DB", *({"LEDGER_CIPHER_KEY", "LEDGER_CIPHER_OLD_KEYS"} - set(keys))):
        env.pop(name, None)
    return {**env, **cli_store(home, store_backend)}


def ok(env: dict[str, str], *args: str) -> str:
    done = ledger_cli(env, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def shown(env: dict[str, str], account: str) -> tuple[str, str]:
    view = json.loads(ok(env, "--json", "account", "show", account))
    return view["email"], view["name"]


def wrapping(env: dict[str, str]) -> dict[tuple[str, str], str]:
    """Which key-encryption key wraps each data key: (account aggregate id, key id) -> kek id, as stored."""
    query = "select account, key_id, kek_id from {} where kek_id <> ''"
    if env.get("LEDGER_STORE") == "postgres":
        import psycopg

        with psycopg.connect(env["LEDGER_POSTGRES_DSN"]) as conn:
            table = f'"{env["LEDGER_POSTGRES_SCHEMA"]}".ledger_account_keys'
            rows = conn.execute(query.format(table)).fetchall()
    else:
        with sqlite3.connect(Path(env["LEDGER_HOME"]) / "keys.db") as db:
            rows = db.execute(query.format("account_keys")).fetchall()
    return {(account, key): kek for account, key, kek in rows}


def test_a_cipher_key_in_the_environment_seals_with_the_ledgers_keys(tmp_path: Path, store_backend: str) -> None:
    """LEDGER_CIPHER_KEY was also read by the event-sourcing library as its own CIPHER_KEY (the app is named
    Ledger), which switched on its AESCipher and failed every process: ``TopicError ... AESCipher``."""
    key, old = new_key(), new_key()
    env = environment(tmp_path / "home", store_backend, LEDGER_CIPHER_KEY=key, LEDGER_CIPHER_OLD_KEYS=old)
    ok(env, "account", "open", "K1", "--email", "k1@example.com", "--name", "Kay")
    assert shown(env, "K1") == ("k1@example.com", "Kay")
    assert set(wrapping(env).values()) == {kek_id(base64.b64decode(key))}
    assert not (tmp_path / "home" / "cipher.key").exists()  # the configured key is the only one


def test_rotating_the_keys_through_the_cli_keeps_every_value_readable(tmp_path: Path, store_backend: str) -> None:
    home = tmp_path / "home"
    first = environment(home, store_backend)  # as installed: the key-encryption key in $LEDGER_HOME/cipher.key
    ok(first, "account", "open", "R1", "--email", "r1@example.com", "--name", "Ray")
    assert ok(first, "keys", "rotate", "R1").strip() == "R1: key 0002"
    assert shown(first, "R1") == ("r1@example.com", "Ray")
    old = (home / "cipher.key").read_text().strip()

    new = new_key()  # docs: the new key in LEDGER_CIPHER_KEY, the file's content in LEDGER_CIPHER_OLD_KEYS
    moving = environment(home, store_backend, LEDGER_CIPHER_KEY=new, LEDGER_CIPHER_OLD_KEYS=old)
    assert shown(moving, "R1") == ("r1@example.com", "Ray")  # old data keys open with the old key
    ok(moving, "account", "open", "R2", "--email", "r2@example.com", "--name", "Rae")
    old_id, new_id = (kek_id(base64.b64decode(k)) for k in (old, new))
    assert sorted(wrapping(moving).values()) == sorted([old_id, old_id, new_id])  # the new account's key: the new one
    alone = environment(home, store_backend, LEDGER_CIPHER_KEY=new)
    refused = ledger_cli(alone, "account", "show", "R1")  # the old key dropped before rewrap: refused, not erased
    assert refused.returncode != 0 and "LEDGER_CIPHER_OLD_KEYS" in refused.stdout + refused.stderr, refused

    assert ok(moving, "keys", "rewrap").strip() == "2 key(s) re-wrapped"
    assert ok(moving, "keys", "rewrap").strip() == "0 key(s) re-wrapped"  # safe to run again
    assert set(wrapping(alone).values()) == {new_id}
    assert (shown(alone, "R1"), shown(alone, "R2")) == (("r1@example.com", "Ray"), ("r2@example.com", "Rae"))

    newer = new_key()  # the next rotation, from one configured key to another
    again = environment(home, store_backend, LEDGER_CIPHER_KEY=newer, LEDGER_CIPHER_OLD_KEYS=new)
    assert ok(again, "keys", "rewrap").strip() == "3 key(s) re-wrapped"
    assert shown(environment(home, store_backend, LEDGER_CIPHER_KEY=newer), "R2") == ("r2@example.com", "Rae")
