"""Portal speed: p95 of a portal page with 50 concurrent logged-in customers browsing (dashboard, invoices,
payments, order history) and paying by card, against the p95 of a static page of the same server under the same
load in the same run. ``ledger serve`` runs as its own process (the ledger API, the workers and the portal);
this process is the 50 browsers (httpx).

Two rows: people (each customer reads a page for ``--think`` seconds, 1 s by default, before the next click:
50 customers then ask ~50 pages a second) and the saturation case (no pause at all: 50 clients hammering, whose
p95 is queueing on the machine's cores).

    python -m bench.portal [--users 50] [--seconds 10] [--think 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import nats
from pwdlib import PasswordHash

from bench import Row
from ledger.identity.credentials import Credentials
from ledger.web.credentials import CredentialStore

PASSWORD = "bench password 1234"
PAGES = ("/portal/", "/portal/invoices", "/portal/payments", "/portal/history?period=year")
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def arrange(nats_url: str, home: Path, users: int) -> None:
    """Accounts with two open invoices each (large enough for every 1.00 payment of a run), and a confirmed portal
    login per account (sent as the operator:
    serve's nats-server refuses anonymous clients and only the admin may send ``ledger.cmd.>``)."""
    admin = Credentials(home / "nats").get("admin")
    nc = await nats.connect(nats_url, user=admin.user, password=admin.password)
    store = CredentialStore(home / "portal.db")
    hashed = PasswordHash.recommended().hash(PASSWORD)
    for n in range(users):
        account = f"B{n}"
        await nc.request("ledger.cmd.account.open", f'{{"account":"{account}","email":"b{n}@example.com"}}'.encode(),
                         timeout=10)
        for i in (1, 2):
            body = (f'{{"account":"{account}","invoice":"I{i}","amount":"{4000 * i}.00","date":"2026-0{i}-01",'
                    f'"due":"2026-0{i}-28"}}')
            await nc.request("ledger.cmd.invoice.issue", body.encode(), timeout=10)
        store.register(account, f"b{n}@example.com", hashed)
        store.confirm(account)
    store.close()
    await nc.close()


async def log_in(base: str, n: int) -> httpx.AsyncClient:
    """A browser of customer ``n``, logged in (argon2 verification is deliberately slow: done before measuring)."""
    client = httpx.AsyncClient(base_url=base, timeout=120)
    form = await client.get("/portal/login")
    token = CSRF.search(form.text)
    assert token is not None
    answer = await client.post("/portal/login", data={"_csrf_token": token.group(1), "email": f"b{n}@example.com",
                                                      "password": PASSWORD})
    assert answer.status_code == 303, answer.status_code
    return client


async def browse(client: httpx.AsyncClient, until: float, paths: tuple[str, ...], times: list[float],
                 pay: bool, think: float = 0.0) -> None:
    """One customer visits ``paths`` in turn (and pays a little now and then) until ``until``, reading each
    page for about ``think`` seconds (uniformly 0.5-1.5 times it, so customers do not click in step)."""
    step = 0
    while time.monotonic() < until:
        if think:
            await asyncio.sleep(think * random.uniform(0.5, 1.5))
        path = paths[step % len(paths)]
        started = time.perf_counter()
        answer = await client.get(path)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, (path, answer.status_code)
        step += 1
        if pay and step % 8 == 0:
            await pay_once(client, times)


async def pay_once(client: httpx.AsyncClient, times: list[float]) -> None:
    """Review then Pay 1.00 on the oldest invoice with a test card (the tokenizer's answer given directly)."""
    started = time.perf_counter()
    review = await client.get("/portal/pay/review", params={"mode": "invoices", "inv": "I1", "pay": "I1",
                                                            "amt": "1.00", "method": "new_card", "token": "tok_visa",
                                                            "brand": "visa", "last4": "4242", "kind": "card"})
    times.append(time.perf_counter() - started)
    fields: dict[str, list[str]] = {}
    for name, value in HIDDEN.findall(review.text):
        fields.setdefault(name, []).append(value)
    started = time.perf_counter()
    paid = await client.post("/portal/pay/confirm", data=fields)
    times.append(time.perf_counter() - started)
    assert paid.status_code == 303 and "/portal/pay/success/" in paid.headers["location"], paid.status_code


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[94] * 1000 if len(times) > 1 else 0.0


async def measure(users: int, seconds: float, think: float = 1.0) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-portal-") as folder:
        home, http_port, nats_port = Path(folder), free_port(), free_port()
        env = {**os.environ, "LEDGER_HOME": folder, "LEDGER_HTTP_PORT": str(http_port),
               "LEDGER_NATS_PORT": str(nats_port), "LEDGER_LOG_FORMAT": "json", "LEDGER_WORKERS": "emails"}
        env.pop("NATS_URL", None)
        server = subprocess.Popen([sys.executable, "-m", "ledger", "serve"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{http_port}"
        try:
            async with httpx.AsyncClient() as probe:
                for _ in range(600):
                    try:
                        if (await probe.get(f"{base}/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
            await arrange(f"nats://127.0.0.1:{nats_port}", home, users)
            clients = [await log_in(base, n) for n in range(users)]
            rows = []
            for pause, label in ((think, f"reading each page ~{think:g} s"), (0.0, "no pause (saturation)")):
                static: list[float] = []
                portal: list[float] = []
                for round_ in range(2):  # interleaved: static, portal, static, portal
                    until = time.monotonic() + seconds / 4
                    await asyncio.gather(*(browse(c, until, ("/portal/static-check",), static, False, pause)
                                           for c in clients))
                    until = time.monotonic() + seconds / 4
                    await asyncio.gather(*(browse(c, until, PAGES, portal, round_ == 1, pause) for c in clients))
                rows.append(Row(f"portal page p95, {users} logged-in users browsing and paying, {label} (ms)",
                                p95(portal), p95(static), "ms", "p95 < 50 ms" if pause else "printed"))
            for client in clients:
                await client.aclose()
        finally:
            server.terminate()
            server.wait(60)
    return rows


def run(quick: bool = False) -> list[Row]:
    """The portal's row (``quick``: a shorter run)."""
    return asyncio.run(measure(50, 6 if quick else 20))


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--think", type=float, default=1.0, help="seconds a customer reads a page (0: none)")
    args = parser.parse_args()
    for row in asyncio.run(measure(args.users, args.seconds, args.think)):
        print(f"{row.measure:70} ours {row.ours:8.1f}  baseline {row.baseline:8.1f}  ratio {row.ratio:5.2f}  "
              f"goal {row.goal}")


if __name__ == "__main__":
    main()
