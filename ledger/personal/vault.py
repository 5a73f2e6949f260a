"""Sealing personal data (emails, names) with a data key of its account, so that erasing the key erases it.

A sealed value is ``pii:v1:<key id>:<base64 of nonce + AES-256-GCM ciphertext>``, its associated data the
account's aggregate id (a value moved to another account does not open). It is sealed before it reaches the
aggregate, so the event store, snapshots, read models and JetStream only ever hold the sealed form; the few
places that show or use it (the account view, the email worker) reveal it. Each account has its data keys in a
key table (:mod:`ledger.personal.keys`), wrapped by the key-encryption key: ``LEDGER_CIPHER_KEY`` (base64 of 32
bytes), else the file ``$LEDGER_HOME/cipher.key`` made on first start (0600). Forgetting an account deletes its
keys: its values reveal as ``[erased]`` from then on, everything else (amounts, journal, audit chain) is intact.

Rotation: :meth:`Vault.rotate` gives an account a new data key for what is sealed from then on (older values
keep opening with theirs); a new key-encryption key is set in ``LEDGER_CIPHER_KEY`` with the old one in
``LEDGER_CIPHER_OLD_KEYS`` until ``ledger keys rewrap`` has wrapped every data key under the new one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.config import Settings
from ledger.errors import Conflict, ValidationError
from ledger.personal.keys import PostgresKeys, SqliteKeys, SqlKeys

PREFIX = "pii:v1:"
#: What a value of a forgotten account reads as.
ERASED = "[erased]"


def kek_id(kek: bytes) -> str:
    """A short public name of a key-encryption key (which one wrapped a data key)."""
    return hashlib.sha256(kek).hexdigest()[:16]


def _key_bytes(text: str, field: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ValidationError(f"{field} must be the base64 of 32 random bytes", field=field)
    return key


def load_kek(home: Path, configured: str = "") -> bytes:
    """``configured`` (LEDGER_CIPHER_KEY), else ``home/cipher.key``, created with a new random key (0600)."""
    if configured:
        return _key_bytes(configured, "LEDGER_CIPHER_KEY")
    path = Path(home) / "cipher.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return _key_bytes(path.read_text(), str(path))
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(os.urandom(32)).decode() + "\n")
            out.flush()
            os.fsync(out.fileno())
    return _key_bytes(path.read_text(), str(path))


class Vault:
    """Seals and reveals personal data with per-account data keys."""

    def __init__(self, keys: SqlKeys, kek: bytes, old_keks: Iterable[bytes] = ()) -> None:
        self.keys = keys
        self.kek = kek
        self.keks = {kek_id(k): k for k in (*old_keks, kek)}

    def _wrap(self, account: str, key_id: str, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(self.kek).encrypt(nonce, key, f"{account}/{key_id}".encode())

    def _unwrap(self, account: str, key_id: str, wrapped: bytes, wrapped_by: str) -> bytes:
        kek = self.keks.get(wrapped_by)
        if kek is None:
            raise ValidationError(f"the data keys were wrapped by key-encryption key {wrapped_by}, which is "
                                  "neither LEDGER_CIPHER_KEY nor in LEDGER_CIPHER_OLD_KEYS", field="LEDGER_CIPHER_KEY")
        return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], f"{account}/{key_id}".encode())

    def _refuse_forgotten(self, account: str) -> None:
        """A forgotten account gets no data key again (one of a destroyed key's id would meet its old values)."""
        if self.keys.forgotten(account):
            raise Conflict("the account was forgotten: its personal data cannot be sealed again",
                           field="account", code="account_forgotten")

    def _current(self, account: str) -> tuple[str, bytes]:
        found = self.keys.current(account)
        if found is None:
            self._refuse_forgotten(account)
            self.keys.add(account, "0001", self._wrap(account, "0001", AESGCM.generate_key(256)), kek_id(self.kek))
            found = self.keys.current(account)
            assert found is not None
        key_id, wrapped, wrapped_by = found
        return key_id, self._unwrap(account, key_id, wrapped, wrapped_by)

    def seal(self, account: UUID | str, value: str) -> str:
        """``value`` sealed with ``account``'s current data key (made on first use); ``""`` stays ``""``."""
        if not value:
            return value
        key_id, key = self._current(str(account))
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, value.encode(), str(account).encode())
        return f"{PREFIX}{key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def reveal(self, account: UUID | str, value: str) -> str:
        """The clear text of a sealed ``value`` (a value that is not sealed, recorded before sealing existed, as
        it is); ``ERASED`` once the account was forgotten, whatever key might be found."""
        if value and self.keys.forgotten(str(account)):
            return ERASED
        if not value.startswith(PREFIX):
            return value
        key_id, _, body = value[len(PREFIX):].partition(":")
        found = self.keys.get(str(account), key_id)
        if found is None:
            return ERASED
        key = self._unwrap(str(account), key_id, *found)
        raw = base64.b64decode(body)
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], str(account).encode()).decode()
        except InvalidTag:
            raise ValidationError("a sealed value does not open with its account's key", field="account") from None

    def forget(self, account: UUID | str) -> int:
        """Destroy ``account``'s data keys (crypto-shredding); how many were destroyed."""
        return self.keys.forget(str(account))

    def rotate(self, account: UUID | str) -> str:
        """Give ``account`` a new data key for what is sealed from now on; its id (refused
        ``account_forgotten`` once the account was forgotten)."""
        self._refuse_forgotten(str(account))
        current = self.keys.current(str(account))
        key_id = f"{int(current[0]) + 1:04d}" if current else "0001"
        self.keys.add(str(account), key_id, self._wrap(str(account), key_id, AESGCM.generate_key(256)),
                      kek_id(self.kek))
        return key_id

    def rewrap(self) -> int:
        """Wrap every data key under the current key-encryption key (after ``LEDGER_CIPHER_KEY`` changed); how
        many were re-wrapped. The old key-encryption key can be destroyed afterwards."""
        current, count = kek_id(self.kek), 0
        for account, key_id, wrapped, wrapped_by in self.keys.rows():
            if wrapped_by != current:
                key = self._unwrap(account, key_id, wrapped, wrapped_by)
                self.keys.replace_wrapped(account, key_id, self._wrap(account, key_id, key), current)
                count += 1
        return count

    def close(self) -> None:
        """Release the key table."""
        self.keys.close()


def load_keks(settings: Settings) -> tuple[bytes, list[bytes]]:
    """The key-encryption key of a ledger (LEDGER_CIPHER_KEY, else ``cipher.key``, created 0600) and the old ones
    (LEDGER_CIPHER_OLD_KEYS); the composition root calls it at start, so the file exists from the first start
    and a bad key stops the start naming its variable."""
    key, old = (secret.value if secret else "" for secret in (settings.cipher_key, settings.cipher_old_keys))
    return load_kek(settings.home, key), [_key_bytes(k, "LEDGER_CIPHER_OLD_KEYS") for k in old.split(",") if k.strip()]


def open_vault(settings: Settings) -> Vault:
    """The vault of a ledger: its key table beside the event store, its key-encryption keys."""
    keys: SqlKeys = PostgresKeys(settings.postgres_dsn, settings.postgres_schema) if settings.store == "postgres" \
        else SqliteKeys(Path(settings.home) / "keys.db")
    return Vault(keys, *load_keks(settings))
