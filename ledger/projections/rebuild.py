"""Rebuilding projections: from position 0 into new files, then an atomic swap while the old files serve.

A rebuild is CPU-bound Python, so with a log big enough (``PARALLEL_FROM`` events) and readable by path (an
SQLite event store), each projection is built by a process of its own reading the log itself: SQLite's WAL
lets any number of readers share the file with the writer. Otherwise the projections are built together in
this process, reading and decoding each batch once.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import structlog

from ledger.lifecycle import die_with_parent_hook
from ledger.logs import configured_format
from ledger.projections.base import Projection
from ledger.projections.runner import EventLog, FileLog, bulk_gc, catch_up, connect, stored_version

log = structlog.get_logger("ledger.projections")

#: Below this many events, starting processes costs more than it saves.
PARALLEL_FROM = 50_000


class RebuildInterrupted(RuntimeError):
    """A rebuild stopped before its swap; the serving projection is untouched."""


class RebuildFailed(RuntimeError):
    """A projection could not be rebuilt (its process failed); nothing was swapped."""


def build(projections: Sequence[Projection], paths: Sequence[Path], events: EventLog, *, batch: int,
          stop: int | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Build each projection into its (new, empty) file in this process; returns the events read.

    Secondary indexes are created once at the end, over the loaded rows, unless stopped early.
    """
    staged = [(projection, connect(path, staging=True)) for projection, path in zip(projections, paths,
                                                                                      strict=True)]
    try:
        with bulk_gc():
            applied = catch_up(staged, events, batch=batch, progress=progress, stop=stop, indexes=False)
        if stop is None:
            for projection, db in staged:
                projection.schema(db)
    finally:
        for _, db in staged:
            db.execute("pragma journal_mode=wal")
            db.close()
    return applied


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM) in MB.

    Unlike ``getrusage``'s ``ru_maxrss``, which a spawned process inherits from its parent's size at the fork,
    VmHWM counts only this process's own memory since it started its program.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _build_one(name: str, path: str, log_path: str, batch: int, stop: int | None, counter: Synchronized[int],
               peak: Synchronized[float], parent: int, log_format: str) -> None:
    """Body of one rebuild process (started with ``spawn``: it opens everything it uses itself); it dies with
    the rebuild that started it, even when that one is SIGKILLed, rather than compete for the cores with the
    next rebuild."""
    from ledger.logs import configure_logging
    from ledger.projections import fresh

    stop_with_parent = die_with_parent_hook(signal.SIGKILL, parent)
    if stop_with_parent is not None:
        stop_with_parent()

    configure_logging(quiet=True, fmt=log_format)

    def advance(count: int) -> None:
        counter.value += count

    events = FileLog(log_path)
    build(fresh([name]), [Path(path)], events, batch=batch, stop=stop, progress=advance)
    events.db.close()
    peak.value = peak_rss_mb()


def build_in_processes(projections: Sequence[Projection], paths: Sequence[Path], log_path: str, *, batch: int,
                       stops: Sequence[int | None], progress: Callable[[int], None] | None = None,
                       peaks: dict[str, float] | None = None) -> int:
    """Build each projection (up to its stop) in a process of its own; progress is the slowest one's.

    ``peaks`` receives each process's peak resident memory in MB, by projection name.
    """
    context = multiprocessing.get_context("spawn")
    counters: list[Synchronized[int]] = [context.Value("q", 0) for _ in projections]
    highs: list[Synchronized[float]] = [context.Value("d", 0.0) for _ in projections]
    workers = [context.Process(target=_build_one, name=f"rebuild-{p.name}", daemon=True,
                               args=(p.name, str(path), log_path, batch, stop, counter, high, os.getpid(),
                                     configured_format()))
               for p, path, stop, counter, high in zip(projections, paths, stops, counters, highs, strict=True)]
    for worker in workers:
        worker.start()
    reported = 0
    try:
        while any(worker.is_alive() for worker in workers):
            time.sleep(0.2)
            reported = _report(counters, reported, progress)
    except BaseException:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join()
        raise
    _report(counters, reported, progress)
    failed = [(w.name, w.exitcode) for w in workers if w.exitcode != 0]
    if failed:
        raise RebuildFailed(", ".join(f"{name} exited with {code}" for name, code in failed))
    for projection, high in zip(projections, highs, strict=True):
        log.info("projection_rebuild_process", projection=projection.name, peak_rss_mb=round(high.value, 1))
        if peaks is not None:
            peaks[projection.name] = high.value
    return max(counter.value for counter in counters)


def build_all(projections: Sequence[Projection], paths: Sequence[Path], events: EventLog, *, batch: int = 20_000,
              stops: Sequence[int | None] | None = None, processes: bool | None = None,
              progress: Callable[[int], None] | None = None, peaks: dict[str, float] | None = None) -> int:
    """Build each projection into its new file, up to its stop (None: the head), choosing how.

    One process per projection when ``processes`` says so, or by default for a log of ``PARALLEL_FROM`` events
    or more that can be read by path; otherwise here, projections with the same stop sharing each read.
    """
    stops = list(stops) if stops is not None else [None] * len(projections)
    log_path: str | None = getattr(events, "path", None)
    if processes is None:
        processes = len(projections) > 1 and events.head() >= PARALLEL_FROM
    if processes and log_path:
        return build_in_processes(projections, paths, log_path, batch=batch, stops=stops, progress=progress,
                                  peaks=peaks)
    applied = 0
    for stop in dict.fromkeys(stops):
        chosen = [i for i, s in enumerate(stops) if s == stop]
        applied = max(applied, build([projections[i] for i in chosen], [paths[i] for i in chosen], events,
                                     batch=batch, stop=stop, progress=progress))
    return applied


def _report(counters: Sequence[Synchronized[int]], reported: int, progress: Callable[[int], None] | None) -> int:
    done = min(counter.value for counter in counters)
    if progress is not None and done > reported:
        progress(done - reported)
    return max(done, reported)


class ProjectionFiles:
    """Where each projection's SQLite file lives, and the atomic rebuild-then-swap.

    The serving path (``accounts.db``) is a symbolic link to the file built last (``accounts-<stamp>.db``).
    SQLite names a database's ``-wal`` and ``-shm`` after the file a link points to, so each build has its own:
    a swap (one ``rename`` of a new link over the old one) can never pair a new file with the old file's WAL,
    whatever crashes when and whoever still has the old file open (it reads its old file until it reopens).
    A serving path that is a plain file (from before links) is replaced the same way.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        #: Peak resident memory (MB) of each rebuild process of the last rebuild here, by projection.
        self.peaks: dict[str, float] = {}

    def path(self, projection: Projection) -> Path:
        """The serving file of ``projection``."""
        return self.folder / f"{projection.name}.db"

    def open(self, projection: Projection) -> sqlite3.Connection:
        """A connection to the serving file (created empty if missing)."""
        db = connect(self.path(projection))
        projection.schema(db)
        return db

    def is_stale(self, projection: Projection) -> bool:
        """Was the serving file built by another version of the projection's code, or does one of its tables
        differ from the projection's schema (a table changed without a version bump)? Either way its rows are
        not what the code reads, and the projection is rebuilt from the log (indexes and views are migrated in
        place when the file is opened: ``ledger.projections.schema``)."""
        path = self.path(projection)
        if not path.exists():
            return False
        db = connect(path)
        try:
            stored = stored_version(db, projection)
            changed = projection.layout.changed_tables(db)
        finally:
            db.close()
        if changed:
            log.warning("projection_tables_changed", projection=projection.name, tables=changed)
        return (stored is not None and stored != projection.version) or bool(changed)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One rebuild at a time per folder, across processes (a second waits, then finds the work done)."""
        with open(self.folder / ".rebuild.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def rebuild_stale(self, projections: Sequence[Projection], events: EventLog) -> list[str]:
        """Rebuild the projections whose serving file another code version built; returns their names."""
        if not any(self.is_stale(p) for p in projections):
            return []
        with self.locked():
            stale = [p for p in projections if self.is_stale(p)]  # another process may have done it meanwhile
            if stale:
                log.warning("projections_stale_rebuilding", projections=[p.name for p in stale])
                self._rebuild(stale, events, batch=20_000, progress=None, interrupt_at=None, processes=None)
        return [p.name for p in stale]

    def rebuild(self, projections: Sequence[Projection], events: EventLog, *, batch: int = 20000,
                progress: Callable[[int], None] | None = None, interrupt_at: int | None = None,
                processes: bool | None = None) -> int:
        """Build each projection from position 0 into a new file, then swap it in atomically.

        The serving files stay untouched (and keep serving) until the swap; an interrupted or failed rebuild
        leaves only ``.rebuild`` files behind, which the next rebuild replaces. ``interrupt_at`` stops early
        (tests). ``processes`` forces (or forbids) one process per projection; by default they are used for
        logs of ``PARALLEL_FROM`` events or more that can be read by path.
        """
        with self.locked():
            return self._rebuild(projections, events, batch=batch, progress=progress, interrupt_at=interrupt_at,
                                 processes=processes)

    def _rebuild(self, projections: Sequence[Projection], events: EventLog, *, batch: int,
                 progress: Callable[[int], None] | None, interrupt_at: int | None, processes: bool | None) -> int:
        paths = [self.folder / f"{projection.name}.db.rebuild" for projection in projections]
        for path in paths:
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
        self.peaks = {}
        applied = build_all(projections, paths, events, batch=batch, stops=[interrupt_at] * len(projections),
                            processes=processes, progress=progress, peaks=self.peaks)
        if interrupt_at is not None:
            raise RebuildInterrupted(f"stopped at {interrupt_at}")
        for projection, path in zip(projections, paths, strict=True):
            self._swap(projection, path)
            log.info("projection_rebuilt", projection=projection.name, events=applied)
        return applied

    def _swap(self, projection: Projection, built: Path) -> None:
        """Serve ``built`` from now on: a build of its own name, then a link renamed over the serving path."""
        serving = self.path(projection)
        previous = os.readlink(serving) if serving.is_symlink() else None
        target = self.folder / f"{projection.name}-{time.time_ns()}.db"
        os.replace(built, target)
        link = self.folder / f"{projection.name}.db.swap"
        link.unlink(missing_ok=True)
        link.symlink_to(target.name)
        os.replace(link, serving)
        self._forget_old_builds(projection, keep=(target.name, previous))

    def _forget_old_builds(self, projection: Projection, keep: tuple[str, str | None]) -> None:
        """Remove builds older than the one just replaced, and a plain file's WAL from before links.

        The one just replaced stays until the next rebuild: a reader that read the link just before the swap
        opens it just after (SQLite resolves the link, then opens), and must find it there, not create an empty
        file of that name. A process that still has an older one open keeps reading it until it reopens."""
        for leftover in self.folder.glob(f"{projection.name}-*.db*"):
            if not any(name and leftover.name.startswith(name) for name in keep):
                leftover.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{self.path(projection)}{suffix}").unlink(missing_ok=True)
