"""A real Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by Selenium, and the whole service
(``serve``: the ledger API, relay, workers, portal and tokenizer) on ephemeral ports for browser stories."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ledger.adapters.mailers import MaildirMailer
from ledger.bootstrap import Ledger, build
from ledger.config import Settings
from workers.runtime import serve

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")
PHONE, DESKTOP = (390, 844), (1280, 900)


def chromium(size: tuple[int, int] = DESKTOP) -> Any:
    """A headless Chromium recording its network log (to check what each request carried)."""
    if not (Path(CHROMIUM).exists() and shutil.which(DRIVER)):
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=options)


def posted_bodies(driver: Any, origin: str) -> list[str]:
    """The bodies of the requests the browser sent to ``origin`` (from Chromium's performance log)."""
    bodies = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            request = message["params"]["request"]
            if request["url"].startswith(origin) and "postData" in request:
                bodies.append(request["postData"])
    return bodies


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Running(msgspec.Struct, kw_only=True):
    """The service as a browser sees it."""

    ledger: Ledger
    portal: str
    mail: Path

    def emails(self) -> list[str]:
        """Every email in the Maildir, as text."""
        return [path.read_text(errors="replace") for path in sorted((self.mail / "new").glob("*"))]


@pytest.fixture
def running(tmp_path: Path, nats_server: str) -> Iterator[Running]:
    """``serve`` in a thread of its own, its portal and tokenizer on free ports, mail in a Maildir."""
    from tests.ledger_fixtures import reset_streams

    settings = Settings.from_env({}, home=tmp_path, db_path=tmp_path / "ledger.db", http_port=free_port(),
                                 tokenizer_port=0, gateway_db=tmp_path / "gateway.db")
    ledger = build(settings)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        import nats

        nc = await nats.connect(nats_server)
        await reset_streams(nc.jetstream())
        await nc.close()
        await serve(ledger, nats_url=nats_server, stop=stop, expiry_every=0.5,
                    mailer=MaildirMailer(tmp_path / "mail"))

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    portal = settings.http_url()
    for _ in range(400):
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(f"{portal}/healthz", timeout=1).read() == b"ok":
                break
        threading.Event().wait(0.05)
    try:
        yield Running(ledger=ledger, portal=portal, mail=tmp_path / "mail")
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        ledger.close()
