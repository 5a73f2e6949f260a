"""Ids and tokens: deterministic aggregate ids, fresh ids, and invitation / cart tokens of which only a hash is kept."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest

from ledger.config import Settings
from ledger.errors import ValidationError
from ledger.ports.ids import IdGenerator, RandomIds, SequentialIds, account_uuid, unidentified_uuid
from ledger.ports.tokens import TokenIssuer, hash_token, load_or_create_secret, verify

SECRET = b"0" * 32
ROOT = Path(__file__).resolve().parents[2]


def test_sequential_ids_count_per_prefix() -> None:
    ids: IdGenerator = SequentialIds()
    assert [ids.new_id("PAY"), ids.new_id("PAY"), ids.new_id("CART"), ids.new_id("PAY")] == [
        "PAY-0001", "PAY-0002", "CART-0001", "PAY-0003"]
    assert SequentialIds().new_id("PAY") == "PAY-0001"
    assert SequentialIds().new_id("MANUAL-REFUND") == "MANUAL-REFUND-0001"


def test_random_ids_are_prefixed_26_base32_characters_and_unique() -> None:
    ids: IdGenerator = RandomIds()
    made = [ids.new_id("CART") for _ in range(2000)]
    assert all(re.fullmatch(r"CART_[a-z2-7]{26}", made_id) for made_id in made)
    assert len(set(made)) == len(made)


@pytest.mark.parametrize("prefix", ["", "CART ID", "CART\n", "PANIER\u00e9", "a/b"])
def test_id_prefixes_are_plain(prefix: str) -> None:
    for ids in (RandomIds(), SequentialIds()):
        with pytest.raises(ValueError):
            ids.new_id(prefix)


def test_aggregate_ids_are_fixed_forever() -> None:
    # Stored histories are keyed by these: a change of namespace would orphan every account.
    assert account_uuid("ACC1") == UUID("d25dd2ec-93e0-5c5a-bd58-c986d79917b7")
    assert unidentified_uuid("P1") == UUID("29994a7a-d685-5b91-a401-d53b355800b2")
    assert account_uuid("ACC1").version == 5


def test_aggregate_ids_tell_accounts_and_payments_apart() -> None:
    assert account_uuid("ACC1") == account_uuid("ACC1") != account_uuid("ACC2")
    assert account_uuid("acc1") != account_uuid("ACC1")
    assert account_uuid("P1") != unidentified_uuid("P1")
    assert len({account_uuid(f"ACC{n}") for n in range(1000)}) == 1000
    with pytest.raises(TypeError):
        account_uuid(1)  # type: ignore[arg-type]


def test_hash_token_is_hex_sha256() -> None:
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert re.fullmatch(r"[0-9a-f]{64}", hash_token("F8peE7ludUSCHueh6xVuCLuUgmGIcu1rMT7dGJBy-gY"))


def test_verify_accepts_only_the_token_behind_the_hash() -> None:
    raw = TokenIssuer(SECRET).issue("invitation", "ACC1", "INVITE-0001", "0")
    stored = hash_token(raw)
    assert stored != raw and raw not in stored
    assert verify(raw, stored)
    assert not verify(raw + "x", stored)
    assert not verify(raw[:-1], stored)
    assert not verify(raw, stored.upper())
    assert not verify(raw, "")
    assert not verify(raw, "\u00e9" * 64)  # a corrupt stored hash is a mismatch, not a crash
    assert not verify(None, stored)  # type: ignore[arg-type]


def test_tokens_are_derived_so_a_worker_can_rebuild_the_link() -> None:
    issuer = TokenIssuer(SECRET)
    raw = issuer.issue("invitation", "ACC1", "INVITE-0001", "0")
    assert raw == "F8peE7ludUSCHueh6xVuCLuUgmGIcu1rMT7dGJBy-gY"  # links already emailed must keep working
    assert raw == TokenIssuer(bytes(SECRET)).issue("invitation", "ACC1", "INVITE-0001", "0")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", raw)


def test_any_other_purpose_part_or_secret_gives_another_token() -> None:
    issuer = TokenIssuer(SECRET)
    raw = issuer.issue("invitation", "ACC1", "INVITE-0001", "0")
    others = {
        issuer.issue("invitation", "ACC1", "INVITE-0001", "1"),   # resent: the old link no longer matches
        issuer.issue("cart", "ACC1", "INVITE-0001", "0"),
        issuer.issue("invitation", "ACC2", "INVITE-0001", "0"),
        issuer.issue("invitation", "ACC1", "INVITE-00010"),
        issuer.issue("invitation", "ACC1INVITE-0001", "0"),
        TokenIssuer(b"1" + SECRET[1:]).issue("invitation", "ACC1", "INVITE-0001", "0"),
    }
    assert raw not in others and len(others) == 6


def test_token_parts_cannot_be_confused() -> None:
    issuer = TokenIssuer(SECRET)
    with pytest.raises(ValueError):
        issuer.issue("cart", "ACC1\x1fCART-1")
    with pytest.raises(ValueError):
        TokenIssuer(b"short")
    with pytest.raises(ValueError):
        TokenIssuer("0" * 32)  # type: ignore[arg-type]


def test_secret_file_is_created_once_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret"
    secret = load_or_create_secret(path)
    assert len(secret) == 32 and path.read_bytes() == secret
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret(str(path)) == secret
    assert load_or_create_secret(tmp_path / "other") != secret
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret"]  # no scratch file left behind


def test_the_environment_secret_wins(tmp_path: Path) -> None:
    assert load_or_create_secret(tmp_path / "secret", b"from-the-environment-0123456789") == \
        b"from-the-environment-0123456789"
    assert not (tmp_path / "secret").exists()
    with pytest.raises(ValidationError) as caught:
        load_or_create_secret(tmp_path / "secret", b"short")
    assert (caught.value.field, caught.value.code) == ("LEDGER_SECRET", "weak_secret")
    with pytest.raises(ValidationError) as refused:  # refused when the settings are read, before anything starts
        Settings.from_env({"LEDGER_SECRET": "short"})
    assert (refused.value.field, refused.value.code) == ("LEDGER_SECRET", "weak_secret")


def test_a_truncated_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret").write_bytes(b"tiny")
    with pytest.raises(ValidationError) as caught:
        load_or_create_secret(tmp_path / "secret")
    assert caught.value.code == "weak_secret"


def test_processes_starting_together_share_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    script = ("import sys; from ledger.ports.tokens import load_or_create_secret as load;"
              "sys.stdout.write(load(sys.argv[1]).hex())")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LEDGER_SECRET", None)
    workers = [subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, env=env)
               for _ in range(6)]
    seen = {worker.communicate(timeout=60)[0].decode() for worker in workers}
    assert all(worker.returncode == 0 for worker in workers)
    assert seen == {path.read_bytes().hex()} and len(path.read_bytes()) == 32
