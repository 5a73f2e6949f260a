"""Sealing personal data with per-account keys: reveal, forget (crypto-shredding), key rotation and re-wrap."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from ledger.errors import Conflict, ValidationError
from ledger.personal.keys import SqliteKeys
from ledger.personal.vault import ERASED, Vault, load_kek

ACC1, ACC2 = "6f1c6a3e-0000-5000-8000-000000000001", "6f1c6a3e-0000-5000-8000-000000000002"


def vault(tmp_path: Path, kek: bytes | None = None, old: tuple[bytes, ...] = ()) -> Vault:
    return Vault(SqliteKeys(tmp_path / "keys.db"), kek or load_kek(tmp_path), old)


def test_a_sealed_value_opens_with_its_account_only_and_not_after_forget(tmp_path: Path) -> None:
    v = vault(tmp_path)
    sealed = v.seal(ACC1, "ada@example.com")
    assert "ada" not in sealed and sealed.startswith("pii:v1:0001:")
    assert v.seal(ACC1, "") == "" and v.reveal(ACC1, "plain") == "plain"
    assert v.reveal(ACC1, sealed) == "ada@example.com"
    assert v.reveal(ACC2, v.seal(ACC2, "x")) == "x"
    with pytest.raises(ValidationError):
        v.reveal(ACC2, sealed)  # opened with the other account's key: refused
    assert v.forget(ACC1) == 1
    assert v.reveal(ACC1, sealed) == ERASED
    assert v.reveal(ACC1, "ada@example.com") == ERASED  # recorded in clear before sealing: shown erased too
    assert v.forget(ACC1) == 0 and v.reveal(ACC2, "plain") == "plain"
    assert b"ada@example.com" not in (tmp_path / "keys.db").read_bytes()


def test_the_key_file_is_private_and_a_bad_configured_key_is_refused(tmp_path: Path) -> None:
    load_kek(tmp_path)
    assert (tmp_path / "cipher.key").stat().st_mode & 0o777 == 0o600
    assert load_kek(tmp_path) == load_kek(tmp_path)
    with pytest.raises(ValidationError, match="LEDGER_CIPHER_KEY"):
        load_kek(tmp_path, "not-a-key")


def test_rotation_keeps_old_values_readable_and_rewrap_retires_the_old_kek(tmp_path: Path) -> None:
    old_kek, new_kek = os.urandom(32), os.urandom(32)
    first = vault(tmp_path, old_kek)
    before = first.seal(ACC1, "ada@example.com")
    assert first.rotate(ACC1) == "0002"
    after = first.seal(ACC1, "ada@new.example.com")
    assert after.startswith("pii:v1:0002:")
    assert (first.reveal(ACC1, before), first.reveal(ACC1, after)) == ("ada@example.com", "ada@new.example.com")
    first.close()
    with pytest.raises(ValidationError, match="LEDGER_CIPHER_OLD_KEYS"):
        vault(tmp_path, new_kek).reveal(ACC1, before)  # the new KEK alone cannot unwrap the old keys
    moving = vault(tmp_path, new_kek, (old_kek,))
    assert moving.rewrap() == 2 and moving.rewrap() == 0
    moving.close()
    assert vault(tmp_path, new_kek).reveal(ACC1, before) == "ada@example.com"  # the old KEK is no longer needed
    assert base64.b64encode(old_kek) not in (tmp_path / "keys.db").read_bytes()


def test_a_forgotten_account_gets_no_key_again_and_stays_erased(tmp_path: Path) -> None:
    """Rotating (or sealing for) a forgotten account made a fresh key with the destroyed key's id ``0001``: its
    old values then failed to open instead of showing erased (found by review)."""
    v = vault(tmp_path)
    sealed = v.seal(ACC1, "ada@example.com")
    v.forget(ACC1)
    for again in (lambda: v.rotate(ACC1), lambda: v.seal(ACC1, "new@example.com")):
        with pytest.raises(Conflict) as refused:
            again()
        assert (refused.value.code, refused.value.field) == ("account_forgotten", "account")
    assert v.keys.current(ACC1) is None and v.reveal(ACC1, sealed) == ERASED
    v.keys.add(ACC1, "0001", b"\0" * 60, "k")  # a key made under the tombstone before this was refused
    assert v.reveal(ACC1, sealed) == ERASED
    assert v.rotate(ACC2) == "0001" and v.reveal(ACC2, v.seal(ACC2, "x")) == "x"
