"""The NATS users of one ledger, kept under ``$LEDGER_HOME/nats/`` (folder 0700, files 0600).

``users.json`` holds every credential issued (role, name, NATS user, password, staff kind); ``server.conf`` is
the nats-server configuration made from it (``authorization.users`` with each role's permissions, see
:mod:`ledger.identity.roles`), which the bundled server runs with and an external cluster can copy. The ledger's
own users (``ledger``, ``relay``, ``worker-<name>``) are created on first use. A credential is one
``user:password`` line (NATS username/password authentication); passwords are 256-bit random.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import ssl
from pathlib import Path
from typing import Any

import msgspec

from ledger.config import NatsTls
from ledger.errors import NotFound, ValidationError
from ledger.identity.roles import ISSUED_ROLES, STAFF_KINDS, check_name, inbox_prefix, permissions, user_name

#: The ledger's own users, created with the folder: the workers ``serve`` can run (``workers.runtime``).
OWN_USERS = (("ledger", ""), ("relay", ""), ("admin", ""),
             ("worker", "emails"), ("worker", "orders"), ("worker", "autopay"))


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    """One NATS user: its role, name, password, and for staff the kind it acts as (csr or finance)."""

    role: str
    name: str = ""
    password: str
    kind: str = ""

    @property
    def user(self) -> str:
        """The NATS user name (``portal-web``)."""
        return user_name(self.role, self.name)

    def line(self) -> str:
        """The credential as one ``user:password`` line."""
        return f"{self.user}:{self.password}"


class Registry(msgspec.Struct, kw_only=True):
    users: list[Credential] = msgspec.field(default_factory=list)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``path`` atomically, readable by its owner only."""
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(scratch, path)


class Credentials:
    """The users of the ledger in ``folder`` (``Settings.nats_dir``; read again whenever the file changed);
    ``tls``: how the ledger's own processes reach NATS over TLS."""

    def __init__(self, folder: Path, tls: NatsTls | None = None) -> None:
        self.folder = Path(folder)
        self.tls = tls
        self.path = self.folder / "users.json"
        self.config_path = self.folder / "server.conf"
        self._seen: tuple[int, int, int] | None = None
        self._users: dict[str, Credential] = {}

    def ensure(self) -> Credentials:
        """Create the folder, the ledger's own users and the server configuration if missing, and write the
        configuration again when this release's permissions differ from the file's (an upgrade that narrows a
        role takes effect at the next start of ``serve``'s server; an external one needs ``ledger nats config``
        and a reload)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        users = self.users()
        missing = [Credential(role=r, name=n, password=secrets.token_urlsafe(32)) for r, n in OWN_USERS
                   if user_name(r, n) not in users]
        if missing or not self._config_is(server_config(sorted(users.values(), key=lambda c: c.user))):
            self._save([*users.values(), *missing])
        return self

    def _config_is(self, text: str) -> bool:
        try:
            return self.config_path.read_text() == text
        except FileNotFoundError:
            return False

    def users(self) -> dict[str, Credential]:
        """Every user by NATS user name (re-read when ``users.json`` changed: another inode, time or size)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)  # a replaced file is a new inode, whatever its time
        if self._seen != seen:
            registry = msgspec.json.decode(self.path.read_bytes(), type=Registry)
            self._users = {c.user: c for c in registry.users}
            self._seen = seen
        return dict(self._users)

    def get(self, role: str, name: str = "") -> Credential:
        """The credential of ``role`` / ``name``; a worker's is created if missing (``ledger worker NAME``)."""
        found = self.users().get(user_name(role, name))
        if found is None and role == "worker":
            return self.issue(role, name)
        if found is None:
            raise NotFound(f"no NATS credential {user_name(role, name)!r}", field="name")
        return found

    def issue(self, role: str, name: str = "", *, kind: str = "") -> Credential:
        """A new credential (a new password if the user exists: the old one stops working on reload)."""
        if role not in (*ISSUED_ROLES, "worker", "relay", "ledger"):
            raise ValidationError(f"unknown role {role!r} (roles: {', '.join(ISSUED_ROLES)})", field="role",
                                  code="unknown_role")
        if name:
            check_name(name)
        elif role in ("portal", "staff", "subscriber", "worker"):
            raise ValidationError(f"a {role} credential needs --name", field="name")
        if role == "staff" and kind not in STAFF_KINDS:
            raise ValidationError(f"--kind must be one of {', '.join(STAFF_KINDS)}", field="kind")
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        issued = Credential(role=role, name=name, password=secrets.token_urlsafe(32),
                            kind=kind if role == "staff" else "")
        users = self.users()
        users[issued.user] = issued
        self._save(list(users.values()))
        return issued

    def revoke(self, user: str) -> Credential:
        """Remove ``user``; its connections are closed when the server reloads its configuration."""
        users = self.users()
        gone = users.pop(user, None)
        if gone is None:
            raise NotFound(f"no NATS user {user!r}", field="user")
        self._save(list(users.values()))
        return gone

    def _save(self, users: list[Credential]) -> None:
        ordered = sorted(users, key=lambda c: c.user)
        _write_private(self.path, msgspec.json.encode(Registry(users=ordered)))
        _write_private(self.config_path, server_config(ordered).encode())
        self._seen = None

    def connect_options(self, role: str, name: str = "") -> dict[str, Any]:
        """nats-py ``connect`` keywords for the ledger's own process of ``role`` (user, password, inbox prefix,
        TLS from ``LEDGER_NATS_TLS_*``)."""
        self.ensure()
        credential = self.get(role, name)
        return {"user": credential.user, "password": credential.password,
                "inbox_prefix": inbox_prefix(credential.user), **tls_options(self.tls)}


def server_config(users: list[Credential]) -> str:
    """The nats-server configuration authorizing ``users``: one ``authorization`` block, its value JSON (which
    the server's format accepts), so a server's own configuration can ``include`` it."""
    entries = []
    for credential in users:
        entry: dict[str, object] = {"user": credential.user, "password": credential.password}
        granted = permissions(credential.role, credential.name)
        if granted is not None:
            entry["permissions"] = granted
        entries.append(entry)
    return "authorization: " + json.dumps({"users": entries}, indent=1) + "\n"


def tls_options(tls: NatsTls | None) -> dict[str, Any]:
    """An ``ssl.SSLContext`` (``tls``) for NATS trusting ``tls.ca``, with the client certificate if given."""
    if tls is None:
        return {}
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tls.ca))
    if tls.cert is not None:
        context.load_cert_chain(str(tls.cert), str(tls.key) if tls.key else None)
    return {"tls": context}


def reload_bundled_server(home: Path) -> bool:
    """Ask the bundled nats-server of ``home`` (if it runs) to load its configuration again (SIGHUP): revoked
    users are disconnected, new ones admitted. False when none runs."""
    try:
        pid = int((Path(home) / "nats" / "nats-server.pid").read_text().split()[0])  # the bundled one's store
    except (OSError, ValueError, IndexError):
        return False
    with contextlib.suppress(OSError):
        if b"nats-server" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGHUP)
            return True
    return False
