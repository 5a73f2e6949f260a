"""``ledger serve`` as a benchmark runs it: started exactly as ``make run`` does on a scratch ``LEDGER_HOME`` (or
another checkout's ledger, ``BENCH_LEDGER``), waited for, stopped, and the CPU its processes used.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.identity.credentials import Credentials


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ledger_command() -> tuple[list[str], dict[str, str]]:
    """``.venv/bin/ledger serve`` (what ``make run`` runs), or the module when no script is installed, and the
    environment it needs. ``BENCH_LEDGER=FOLDER``: the ledger of another checkout (its code first on the path, with
    this venv's packages), to compare before and after a change in the same run conditions."""
    other = os.environ.get("BENCH_LEDGER")
    if other:
        return [sys.executable, "-m", "ledger", "serve"], {"PYTHONPATH": other, "PYTHONDONTWRITEBYTECODE": "1"}
    script = Path(sys.executable).with_name("ledger")
    return ([str(script), "serve"] if script.exists() else [sys.executable, "-m", "ledger", "serve"]), {}


@contextmanager
def serving(home: Path, extra_env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``ledger serve`` on ``home`` (its own bundled nats-server), JSON logs at INFO into ``home/serve.log``;
    yields (NATS URL with the admin's credential in it: serve's server refuses anonymous clients, and only the
    admin may send ``ledger.cmd.>``, the process) once it answers; stopped with SIGTERM after."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)  # serve refuses a home others can read
    log_path = home / "serve.log"
    command, command_env = ledger_command()
    env = {**os.environ, "LEDGER_HOME": str(home), "LEDGER_LOG_FORMAT": "json",
           "LEDGER_NATS_PORT": str(free_port()), **command_env, **extra_env}
    for name in ("LEDGER_DB", "NATS_URL", "LEDGER_PROJECTIONS_DIR", "LEDGER_GATEWAY_DB", "LEDGER_CHAIN_DB"):
        if name not in extra_env:
            env.pop(name, None)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=log_file, cwd=home)
        try:
            url = wait_serving(log_path, process)
            admin = Credentials(Path(env.get("LEDGER_NATS_DIR") or home / "nats")).get("admin")  # serve made it
            yield url.replace("nats://", f"nats://{admin.user}:{admin.password}@", 1), process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_serving(log_path: Path, process: subprocess.Popen[bytes], timeout: float = 60.0) -> str:
    """The NATS URL from serve's ``ledger_serving`` line, once written."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ledger serve exited ({process.returncode}): {log_path.read_text()[-2000:]}")
        for line in log_path.read_text().splitlines():
            if '"ledger_serving"' in line:
                found = re.search(r'"nats":\s*"([^"]+)"', line)
                if found:
                    return found.group(1)
        time.sleep(0.2)
    raise RuntimeError("ledger serve did not start serving within 60 s")


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by serve (process ``pid``: ``serve``), its nats-server
    (``nats-server``) and its other descendants (``children``: the projection follower)."""
    used: dict[str, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            name = Path(f"/proc/{current}/comm").read_text().strip()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        role = "serve" if current == pid else name if name == "nats-server" else "children"
        used[role] = used.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return used

