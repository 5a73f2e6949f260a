"""Benchmark: the service as its users see it. Starts ``ledger serve`` exactly as ``make run`` does (everything it
runs, JSON logs at INFO to a file) on a scratch ``LEDGER_HOME``, sends the open-loop mix of :mod:`bench.loadmix`
(account opens, invoices, card payments that distribute) over NATS request/reply at fixed rates for a fixed
time, and prints per rate the sent / answered / shed / expired / timed-out counts and p50 / p95 / p99. Then a
burst at ``--overload`` times the best rate answered, and the recovery after it. Finally the store is checked:
every command answered ``ok`` is in it, none answered ``overloaded`` or ``deadline_exceeded`` is, and none was
decided after its deadline.

Baselines of the same run: a NATS request/reply echo (a responder process of its own, the same rates) and raw
durable single-row SQLite commits (PostgreSQL: psycopg 1-row commits, with ``--postgres`` or a DSN in
``LEDGER_BENCH_POSTGRES_DSN``).

    python -m bench.service [--rates 100,500,2000] [--seconds 10] [--overload 5] [--timeout 2] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import nats

from bench import Row
from bench.baselines import postgres_dsn, postgres_scratch, raw_postgres, raw_sqlite
from bench.loadmix import Answer, Check, check, mix, open_loop, recorded
from bench.serving import cpu_seconds, serving
from ledger.config import Settings
from ledger.store.application import LedgerStore

ECHO = """
import asyncio, sys, nats
async def main():
    nc = await nats.connect(sys.argv[1])
    async def echo(msg):
        await msg.respond(b'{"ok": {}}')
    await nc.subscribe("bench.echo.>", cb=echo)
    await nc.flush()
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""

#: Outcomes with a column of their own; any other is a refusal of the command, counted by its code.
COUNTED = ("ok", "overloaded", "deadline_exceeded", "timeout")


class Phase(msgspec.Struct):
    """One fixed-rate run: what was sent, what came back, the echo baseline's latencies at the same rate."""

    name: str
    rate: float
    seconds: float
    answers: list[Answer]
    echo: list[float]
    cpu: dict[str, float] = {}

    def cpu_ms(self, *names: str) -> float:
        """CPU milliseconds per command answered ok of the processes ``names`` (see :func:`cpu_seconds`)."""
        return sum(self.cpu.get(n, 0.0) for n in names) * 1000 / max(1, self.count("ok"))

    def count(self, *outcomes: str) -> int:
        """Answers with one of ``outcomes``."""
        return sum(1 for a in self.answers if a.outcome in outcomes)

    @property
    def refused(self) -> int:
        """Answers that are a refusal of the command itself (not shed, expired or timed out)."""
        return len(self.answers) - self.count(*COUNTED)

    def latency(self, q: float, outcomes: tuple[str, ...] = ("ok",)) -> float:
        """The ``q`` quantile of the latency (ms) of answers with ``outcomes``."""
        return quantile(sorted(a.latency for a in self.answers if a.outcome in outcomes), q)


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile of sorted ``values`` (seconds), in milliseconds (0 when empty)."""
    return values[min(len(values) - 1, int(len(values) * q))] * 1000 if values else 0.0


async def echo_latencies(nc: Any, rate: float, count: int, timeout: float) -> list[float]:
    """Round-trip times (s) of ``count`` echo requests sent open-loop at ``rate``: what NATS request/reply and
    this client alone cost at that rate."""
    from bench.loadmix import Request

    requests = [Request(f"bench.echo.{n % 3}", b'{"account": "x"}', str(n)) for n in range(count)]
    return sorted(a.latency for a in await open_loop(nc, requests, rate, timeout))


async def phase(nc: Any, pid: int, name: str, rate: float, seconds: float, timeout: float) -> Phase:
    """Echo at ``rate`` for a quarter of the time, then the mix at ``rate`` for ``seconds`` (and the CPU serve,
    its children, the nats-server and this client used meanwhile, until a second after the last answer)."""
    echo = await echo_latencies(nc, rate, max(1, int(rate * seconds / 4)), timeout)
    requests = list(mix(f"{name}-", int(rate * seconds)))
    before = {**cpu_seconds(pid), "client": time.process_time()}
    answers = await open_loop(nc, requests, rate, timeout)
    await asyncio.sleep(1.0)  # the workers and the follower finish with the last commands' events
    after = {**cpu_seconds(pid), "client": time.process_time()}
    return Phase(name, rate, seconds, answers, echo, {k: v - before.get(k, 0.0) for k, v in after.items()})


async def drive(url: str, pid: int, rates: list[float], seconds: float, overload: float, timeout: float) -> list[Phase]:
    """Every phase: the fixed rates, then the burst and the recovery after it."""
    nc = await nats.connect(url, pending_size=256 * 1024 * 1024)
    echo = subprocess.Popen([sys.executable, "-c", ECHO, url], stdout=subprocess.PIPE)
    try:
        assert echo.stdout is not None
        echo.stdout.readline()
        phases = [await phase(nc, pid, f"r{int(rate)}", rate, seconds, timeout) for rate in rates]
        if overload:
            best = max((p.count("ok") / p.seconds for p in phases), default=100.0)
            phases.append(await phase(nc, pid, "burst", best * overload, seconds, timeout))
            phases.append(await phase(nc, pid, "after", min(rates), max(2.0, seconds / 2), timeout))
        return phases
    finally:
        echo.terminate()
        echo.wait()
        await nc.close()


def print_phases(phases: list[Phase], verdict: Check, raw: float, label: str) -> None:
    """The per-rate table (on stdout) and the store check."""
    print(f"\n{label}: raw durable 1-row commits {raw:,.0f}/s")
    print(f"{'phase':>7} {'rate/s':>7} {'sent':>7} {'ok':>7} {'refused':>7} {'shed':>7} {'expired':>7} "
          f"{'timeout':>7} {'ok/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'echo p50':>8} {'echo p99':>8} "
          f"{'cpu ms/cmd: serve':>17} {'follower':>8} {'nats':>5} {'client':>6}")
    for p in phases:
        print(f"{p.name:>7} {p.rate:7.0f} {len(p.answers):7} {p.count('ok'):7} {p.refused:7} "
              f"{p.count('overloaded'):7} {p.count('deadline_exceeded'):7} {p.count('timeout'):7} "
              f"{p.count('ok') / p.seconds:7.0f} {p.latency(0.5):8.1f} {p.latency(0.95):8.1f} "
              f"{p.latency(0.99):8.1f} {quantile(p.echo, 0.5):8.1f} {quantile(p.echo, 0.99):8.1f} "
              f"{p.cpu_ms('serve'):17.2f} {p.cpu_ms('children'):8.2f} {p.cpu_ms('nats-server'):5.2f} "
              f"{p.cpu_ms('client'):6.2f}")
    print(f"store check: {'passed' if verdict.passed else 'FAILED'} ({verdict.answered_missing} answered ok but "
          f"missing, {verdict.refused_recorded} shed or expired but recorded, {verdict.past_deadline} decided "
          f"past their deadline; {verdict.timeouts_recorded} timed out at the client but recorded)")
    for p in phases:
        codes = Counter(a.outcome for a in p.answers if a.outcome not in COUNTED)
        if codes:
            print(f"  {p.name} refused: " + ", ".join(f"{code} {n}" for code, n in codes.most_common()))
    for example in verdict.examples:
        print(f"  {example}")


@contextmanager
def profiling(pid: int, out: Path | None) -> Iterator[None]:
    """``py-spy record`` of process ``pid`` and its children into ``out`` (raw collapsed stacks) while inside."""
    if out is None:
        yield
        return
    spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid),
                            "--subprocesses", "--gil", "--nonblocking", "--format", "raw", "--output", str(out),
                            "--rate", "200"], stdout=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(60)


def run_store(label: str, home: Path, env: dict[str, str], settings: Settings, raw: float, rates: list[float],
              seconds: float, overload: float, timeout: float, profile: Path | None = None) -> list[Row]:
    """One store's run: serve, drive, stop, check; its rows. ``profile``: py-spy's samples of serve go there."""
    with serving(home, env) as (url, process), profiling(process.pid, profile):
        phases = asyncio.run(drive(url, process.pid, rates, seconds, overload, timeout))
    store = LedgerStore(settings)
    try:
        found = recorded(store.recorder.select_notifications(start=1, limit=10**9))
    finally:
        store.close()
    verdict = check([a for p in phases for a in p.answers], found)
    print_phases(phases, verdict, raw, label)
    return rows(label, phases, verdict, raw)


def rows(label: str, phases: list[Phase], verdict: Check, raw: float) -> list[Row]:
    """The benchmark table's rows of one store's run."""
    out: list[Row] = []
    fixed = [p for p in phases if p.name.startswith("r")]
    best = max(fixed, key=lambda p: p.count("ok"))
    out.append(Row(f"{label}: serve, mixed commands answered ok/s at {best.rate:,.0f}/s sent (vs raw durable "
                   "1-row commits/s)", best.count("ok") / best.seconds, raw, "cmd/s", ">= 0.3 (2,000/s)"))
    for p in fixed:
        out.append(Row(f"  p99 at {p.rate:,.0f}/s sent, {p.count('ok')} of {len(p.answers)} ok (ms; baseline: NATS "
                       "echo p99)", p.latency(0.99), quantile(p.echo, 0.99), "ms", "< 10 ms at 500/s"))
    for p in phases:
        if p.name == "burst":
            within = sum(1 for a in p.answers if a.outcome != "timeout")
            out.append(Row(f"  burst at {p.rate:,.0f}/s: answered within the deadline (of {len(p.answers)} sent; "
                           f"{p.count('overloaded')} shed, {p.count('deadline_exceeded')} expired)", within,
                           len(p.answers), "req", "ratio 1"))
        if p.name == "after":
            out.append(Row(f"  after the burst, p99 at {p.rate:,.0f}/s (ms; baseline: NATS echo p99)",
                           p.latency(0.99), quantile(p.echo, 0.99), "ms", "printed"))
    out.append(Row(f"  store check: violations (answered ok but missing, shed/expired but recorded, decided past "
                   f"the deadline) of {sum(len(p.answers) for p in phases):,} requests",
                   verdict.answered_missing + verdict.refused_recorded + verdict.past_deadline,
                   sum(len(p.answers) for p in phases), "req", "0"))
    return out


def run_all(rates: list[float], seconds: float, overload: float, timeout: float, postgres: bool,
            profile: Path | None = None) -> list[Row]:
    """The SQLite run, and the PostgreSQL one when asked for (``postgres``) and a DSN is configured."""
    out: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-service-") as folder:
        home = Path(folder) / "sqlite"
        raw = raw_sqlite(Path(folder), 2000, 1)
        settings = Settings.from_env({}, home=home, db_path=home / "ledger.db")
        out += run_store("SQLite FULL", home, {}, settings, raw, rates, seconds, overload, timeout, profile)
        dsn = postgres_dsn()
        if postgres and dsn:
            with postgres_scratch(dsn) as new_schema:
                schema, raw_schema = new_schema(), new_schema()
                raw_pg = raw_postgres(dsn, raw_schema, 2000, 1)
                home = Path(folder) / "postgres"
                env = {"LEDGER_STORE": "postgres", "LEDGER_POSTGRES_DSN": dsn, "LEDGER_POSTGRES_SCHEMA": schema}
                settings = Settings.from_env(env, home=home)
                out += run_store("PostgreSQL", home, env, settings, raw_pg, rates, seconds, overload, timeout)
    return out


def run(quick: bool = False) -> list[Row]:
    """The rows of this benchmark (``quick``: 5 s per rate instead of 20)."""
    return run_all([100, 500, 2000], 5 if quick else 20, 5, 2.0, bool(postgres_dsn()))


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="100,500,2000", help="comma-separated request rates (per second)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per rate")
    parser.add_argument("--overload", type=float, default=5.0, help="burst at this times the best ok/s (0: none)")
    parser.add_argument("--timeout", type=float, default=2.0, help="each request's deadline, seconds")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL (LEDGER_BENCH_POSTGRES_DSN)")
    parser.add_argument("--profile", type=Path, help="py-spy record serve (SQLite run) into this raw file "
                                                     "(pip install py-spy; summed by python -m bench.profile)")
    args = parser.parse_args()
    for row in run_all([float(r) for r in args.rates.split(",")], args.seconds, args.overload, args.timeout,
                       args.postgres, args.profile):
        print(f"{row.measure:100} ours {row.ours:9,.1f}  baseline {row.baseline:9,.1f}  ratio {row.ratio:5.2f}")


if __name__ == "__main__":
    main()
