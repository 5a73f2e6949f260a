"""Logging customers in: argon2id passwords (rehashed when the parameters change), one answer for an unknown
email and a wrong password, and growing delays after failed attempts per email and per address."""

from __future__ import annotations

import asyncio

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from ledger.web.credentials import CredentialStore, Login, email_key

#: Failed attempts allowed before delays start; then each failure doubles the wait, up to MAX_DELAY seconds.
FREE_ATTEMPTS = 3
MAX_DELAY = 15 * 60.0
MIN_PASSWORD = 10
MAX_PASSWORD = 1024


class LoginRefused(Exception):
    """Wrong email or password (the same for both), not confirmed yet, or too many attempts."""

    def __init__(self, message: str, retry_after: float = 0.0, unconfirmed: Login | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        #: The login, when only its confirmation is missing (the right password was given).
        self.unconfirmed = unconfirmed


def password_problem(password: str, confirm: str | None = None) -> str | None:
    """Why a new password cannot be used, or None."""
    if len(password) < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"Use at most {MAX_PASSWORD} characters."
    if confirm is not None and password != confirm:
        return "The two passwords differ."
    return None


def delay_after(failures: int) -> float:
    """Seconds to wait after ``failures`` failed attempts in a row: none for the first few, then 1, 2, 4 ..."""
    if failures < FREE_ATTEMPTS:
        return 0.0
    return min(MAX_DELAY, 2.0 ** (failures - FREE_ATTEMPTS))


class Authenticator:
    """Password hashing and login checks over the credentials store."""

    def __init__(self, store: CredentialStore, hasher: PasswordHash | None = None) -> None:
        self.store = store
        self.hasher = hasher or PasswordHash((Argon2Hasher(),))
        #: Verified instead of a real hash when the email is unknown, so both cost the same time.
        self._dummy = self.hasher.hash("not a password of anyone")

    async def hash(self, password: str) -> str:
        """argon2id hash of ``password`` (off the event loop)."""
        return await asyncio.to_thread(self.hasher.hash, password)

    async def check_password(self, login: Login, password: str) -> bool:
        """Whether ``password`` is the login's (rehashing it when the hasher's parameters changed)."""
        ok, updated = await asyncio.to_thread(self.hasher.verify_and_update, password, login.password_hash)
        if ok and updated is not None:
            self.store.set_password(login.account, updated)
        return bool(ok)

    def _wait(self, keys: tuple[str, ...]) -> float:
        now = self.store.clock()
        waits = []
        for key in keys:
            failures, last = self.store.failures(key)
            waits.append(last + delay_after(failures) - now)
        return max(0.0, *waits)

    async def log_in(self, email: str, password: str, address: str) -> Login:
        """The login for ``email`` and ``password``; LoginRefused with one message for an unknown email or a
        wrong password (the hash is verified either way), while the email or address must wait."""
        keys = (email_key(email), f"addr:{address}")
        wait = self._wait(keys)
        if wait > 0:
            raise LoginRefused(f"Too many failed attempts. Try again in {int(wait) + 1} seconds.", wait)
        login = self.store.login_by_email(email.strip())
        if login is None:
            await asyncio.to_thread(self.hasher.verify, password, self._dummy)
            ok = False
        else:
            ok = await self.check_password(login, password)
        if not ok or login is None:
            for key in keys:
                self.store.failed(key)
            raise LoginRefused("The email or password is not right.")
        for key in keys:
            self.store.succeeded(key)
        if not login.confirmed:
            raise LoginRefused("Confirm your email first: we sent you a new email with a Confirm button.",
                               unconfirmed=login)
        return login
