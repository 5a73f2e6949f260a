"""Benchmark: relay throughput against raw nats-py publish_async of the same messages, and command round-trip
latency at a fixed request rate, on a nats-server from the wheel.

    python -m bench.relay [--events 50000] [--rate 100] [--seconds 5]

The rate is kept well under one instance's capacity (each command is a durable SQLite commit, ~4 ms on a
2-core machine), so the percentiles measure latency rather than a queue.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import nats

from bench import Row
from bench.generator import HistoryGenerator
from ledger.aggregates.events.base import event_uuid
from ledger.bootstrap import build
from ledger.config import Settings
from ledger.logs import configure_logging
from ledger.nats_api.api import build_broker
from ledger.nats_api.subjects import EVENTS_STREAM, event_subject
from ledger.natsserver import NatsServerProcess
from ledger.projections.keeper import ProjectionKeeper
from ledger.store.application import LedgerStore
from workers.relay import Relay
from workers.streams import ensure_events_stream


async def raw_publish(js: Any, notes: Sequence[Any]) -> float:
    """msgs/s of publish_async of the same messages (subjects, bodies, headers), all acks awaited."""
    started = time.perf_counter()
    for start in range(0, len(notes), 1000):
        futures = []
        for note in notes[start:start + 1000]:
            name = note.topic.partition(":")[0]
            headers = {"Nats-Msg-Id": event_uuid(note.originator_id, note.originator_version),
                       "Ledger-Position": str(note.id), "Ledger-Event-Type": name, "Ledger-Event-Version": "1"}
            futures.append(await js.publish_async(event_subject(name, str(note.originator_id)), bytes(note.state),
                                                  headers=headers))
        await asyncio.wait_for(asyncio.gather(*futures), 30)
    return len(notes) / (time.perf_counter() - started)


async def fresh_stream(js: Any) -> None:
    with contextlib.suppress(Exception):
        await js.delete_stream(EVENTS_STREAM)
    await ensure_events_stream(js)


async def relay_rows(home: Path, url: str, events: int) -> list[Row]:
    store = LedgerStore(Settings.from_env({}, home=home, db_path=home / "ledger.db"))
    HistoryGenerator(store).run(events)
    notes = store.recorder.select_notifications(start=1, limit=10**9)
    nc = await nats.connect(url)
    js = nc.jetstream(publish_async_max_pending=4000)
    await fresh_stream(js)
    baseline = await raw_publish(js, notes)
    await fresh_stream(js)
    relay = Relay(store, js, batch=1000)
    started = time.perf_counter()
    while await relay.publish_batch():
        pass
    ours = len(notes) / (time.perf_counter() - started)
    await nc.close()
    store.close()
    return [Row(f"relay to JetStream ({len(notes):,} events, events/s)", ours, baseline, "events/s", ">= 0.7")]


#: Accounts the latency run spreads its commands over.
ACCOUNTS = 50


async def paced(nc: Any, subject: str, bodies: list[bytes], rate: int) -> list[float]:
    """Round-trip times (s) of requests sent at a fixed ``rate`` per second (not waiting for each reply)."""
    times: list[float] = []

    async def one(body: bytes) -> None:
        started = time.perf_counter()
        await nc.request(subject, body, timeout=10)
        times.append(time.perf_counter() - started)

    tasks = []
    start = time.perf_counter()
    for n, body in enumerate(bodies):
        tasks.append(asyncio.create_task(one(body)))
        await asyncio.sleep(max(0.0, start + (n + 1) / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    return sorted(times)


def percentile(times: list[float], q: float) -> float:
    """The ``q`` quantile of sorted ``times``, in milliseconds."""
    return times[min(len(times) - 1, int(len(times) * q))] * 1000


async def latency_rows(home: Path, url: str, rate: int, seconds: float) -> list[Row]:
    """Command round trip at a fixed rate through the ledger API, against a bare nats-py echo responder at the
    same rate (what NATS request/reply alone costs on this machine)."""
    ledger = build(Settings.from_env({}, home=home / "api", db_path=home / "api" / "ledger.db"))
    broker = build_broker(ledger, ProjectionKeeper(ledger.store, home / "api"), url)
    await broker.start()
    nc = await nats.connect(url)

    async def echo(msg: Any) -> None:
        await msg.respond(b'{"ok": {}}')

    await nc.subscribe("bench.echo", cb=echo)
    for a in range(ACCOUNTS):
        await nc.request("ledger.cmd.account.open", f'{{"account": "B{a}", "email": "b@example.com"}}'.encode(),
                         timeout=5)
    count = int(rate * seconds)
    bodies = [msgspec.json.encode({"account": f"B{n % ACCOUNTS}", "credit": f"C{n}", "amount": "1.00",
                                   "reference": "bench"}) for n in range(count)]
    raw = await paced(nc, "bench.echo", bodies, rate)
    ours = await paced(nc, "ledger.cmd.credit.issue", bodies, rate)
    await nc.close()
    await broker.stop()
    ledger.close()
    return [Row(f"command round trip p50 at {rate}/s (ms; baseline: NATS echo)", percentile(ours, 0.5),
                percentile(raw, 0.5), "ms", "printed"),
            Row(f"command round trip p99 at {rate}/s (ms; baseline: NATS echo)", percentile(ours, 0.99),
                percentile(raw, 0.99), "ms", "printed")]


async def run_async(events: int, rate: int, seconds: float) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as folder:
        home = Path(folder)
        with NatsServerProcess(home / "nats") as server:
            return await relay_rows(home, server.url, events) + await latency_rows(home, server.url, rate, seconds)


def run(quick: bool = False) -> list[Row]:
    """The rows of this benchmark (``quick``: fewer events, shorter latency run)."""
    return asyncio.run(run_async(10_000 if quick else 50_000, 100, 3 if quick else 5))


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    configure_logging(quiet=True)
    for row in asyncio.run(run_async(args.events, args.rate, args.seconds)):
        print(f"{row.measure:55} ours {row.ours:10,.1f}  baseline {row.baseline:10,.1f}  ratio {row.ratio:5.2f}"
              f"  goal {row.goal}")


if __name__ == "__main__":
    main()
