"""Read-model schemas declared as data and created with sqlite-utils: tables, indexes, views, full-text search.

A projection lists its :class:`TableSpec`, :class:`IndexSpec` and views; :class:`Schema` creates what is
missing (idempotent), and migrates a file built by older code:

- an index or a view is derived from the tables, so a missing index is created and a view whose SQL changed
  is replaced in place;
- a table whose columns, types, key, NOT NULL or defaults differ from the declaration holds rows the code no
  longer writes, so the file is *changed* (:meth:`Schema.changed_tables`) and the projection is rebuilt into a
  new file from the log and swapped in (``ledger.projections.rebuild``), exactly as after a version bump.

Full-text indexes (:class:`SearchSpec`) are kept apart from the rows: they are not built by a rebuild nor by
the live runner (the hot paths), but brought up to date, by log position, when searched (:func:`search`).
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlite_utils import Database
from sqlite_utils.db import Table


class TableSpec(NamedTuple):
    """One table: columns in order with their Python type (``int`` or ``str``), primary key, NOT NULL columns
    and SQL defaults."""

    name: str
    columns: Mapping[str, type]
    pk: tuple[str, ...]
    not_null: frozenset[str] = frozenset()
    defaults: Mapping[str, object] = {}


class IndexSpec(NamedTuple):
    """One index. ``with_table``: created with the table even during a rebuild (a uniqueness rule that the
    rows must keep), otherwise only once the rows are loaded."""

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False
    with_table: bool = False


class SearchSpec(NamedTuple):
    """A full-text index (FTS5) over ``columns`` of an append-only table whose integer primary key is its log
    position (``<table>_fts``, external content)."""

    table: str
    columns: tuple[str, ...]


def database(db: sqlite3.Connection) -> Database:
    """sqlite-utils over an open connection (no plugins: the connection is configured by the runner)."""
    return Database(db, execute_plugins=False)


class Schema:
    """The tables, indexes and views of one read model."""

    def __init__(self, tables: Sequence[TableSpec], indexes: Sequence[IndexSpec] = (),
                 views: Mapping[str, str] | None = None, search: Sequence[SearchSpec] = ()) -> None:
        self.tables = tuple(tables)
        self.indexes = tuple(indexes)
        self.views = dict(views or {})
        self.search = tuple(search)

    def columns(self) -> dict[str, tuple[str, ...]]:
        """Each table's columns, in order."""
        return {t.name: tuple(t.columns) for t in self.tables}

    def create(self, db: sqlite3.Connection, *, indexes: bool = True) -> None:
        """Create what is missing and replace views whose SQL changed; a rebuild leaves its secondary indexes
        for the end (``indexes=False``). Called outside a transaction, each time a runner catches up: one
        query when nothing is missing."""
        if self._complete(db, indexes):
            return
        sql = database(db)
        for spec in self.tables:
            sql.table(spec.name).create(dict(spec.columns), pk=_pk(spec.pk), not_null=set(spec.not_null),
                                        defaults=dict(spec.defaults), if_not_exists=True)
        for index in self.indexes:
            if indexes or index.with_table:
                sql.table(index.table).create_index(index.columns, index_name=index.name, unique=index.unique,
                                              if_not_exists=True)
        for name, select in self.views.items():
            if not _view_is(db, name, select):
                db.execute("begin immediate")  # several runners may open the file at once: one replaces it
                try:
                    if not _view_is(db, name, select):
                        sql.create_view(name, select, replace=True)
                    db.execute("commit")
                except BaseException:
                    db.execute("rollback")
                    raise

    def _complete(self, db: sqlite3.Connection, indexes: bool) -> bool:
        """Whether the file holds every table, every index wanted and every view as declared."""
        held = {(str(kind), str(name)): str(text) for kind, name, text in
                db.execute("select type, name, sql from sqlite_master where type in ('table', 'index', 'view')")}
        return (all(("table", t.name) in held for t in self.tables)
                and all(("index", i.name) in held for i in self.indexes if indexes or i.with_table)
                and all(held.get(("view", name), "").endswith(f" AS {select}") for name, select in self.views.items()))

    def changed_tables(self, db: sqlite3.Connection) -> list[str]:
        """Tables of the file whose shape differs from the declaration (missing tables are not changed: they
        are created empty, as for a new read model)."""
        sql = database(db)
        changed = []
        for spec in self.tables:
            table = sql[spec.name]
            if isinstance(table, Table) and table.exists() and _shape(table) != _declared(spec):
                changed.append(spec.name)
        return changed


def _pk(columns: tuple[str, ...]) -> str | tuple[str, ...] | None:
    """sqlite-utils' spelling of a primary key (None: a rowid table)."""
    return None if not columns else columns[0] if len(columns) == 1 else columns


def _view_is(db: sqlite3.Connection, name: str, select: str) -> bool:
    """Whether the file holds view ``name`` as ``select``."""
    row = db.execute("select sql from sqlite_master where type = 'view' and name = ?", (name,)).fetchone()
    return row is not None and str(row[0]).endswith(f" AS {select}")


_TYPES = {int: "INTEGER", str: "TEXT"}
#: A table as declared or as found: (name, SQL type) columns, primary key, NOT NULL columns, SQL defaults.
Shape = tuple[tuple[tuple[str, str], ...], tuple[str, ...], frozenset[str], dict[str, str]]


def _declared(spec: TableSpec) -> Shape:
    columns = tuple((name, _TYPES[kind]) for name, kind in spec.columns.items())
    defaults = {name: repr(value) if isinstance(value, str) else str(value) for name, value in spec.defaults.items()}
    return columns, spec.pk, frozenset(spec.not_null), defaults


def _shape(table: Table) -> Shape:
    info = table.db.execute(f"pragma table_info([{table.name}])").fetchall()
    columns = tuple((str(r[1]), str(r[2]).upper()) for r in info)
    pk = tuple(str(r[1]) for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
    not_null = frozenset(str(r[1]) for r in info if r[3])
    defaults = {str(r[1]): str(r[4]).replace('"', "'") for r in info if r[4] is not None}
    return columns, pk, not_null, defaults


def data_tables(db: sqlite3.Connection) -> list[str]:
    """A read model's tables of rows, by name: not the position table, not full-text indexes (a virtual table
    and its shadow tables, built by searches and absent from a fresh rebuild)."""
    rows = db.execute("select name, sql from sqlite_master where type = 'table' and name != '_position' "
                      "and name not like 'sqlite_%' order by name").fetchall()
    virtual = [str(name) for name, text in rows if str(text or "").upper().startswith("CREATE VIRTUAL TABLE")]
    return [str(name) for name, _ in rows
            if not any(name == v or str(name).startswith(f"{v}_") for v in virtual)]


def search(db: sqlite3.Connection, spec: SearchSpec, text: str, *, columns: Sequence[str] | None = None,
           where: str | None = None, where_args: Mapping[str, object] | None = None, order_by: str | None = None,
           limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of ``spec.table`` matching ``text`` (every word, in any column; quoted, so a reference such as
    ``INV-7`` or ``R01`` is searched as it is written), best match first unless ``order_by`` says otherwise;
    ``where`` filters with named parameters (``account_id = :account``).

    The index is created on first use (sqlite-utils ``enable_fts``, which fills it) and then brought up to
    date with the rows added since (by position, the table being append-only): neither a rebuild nor the live
    runner pays for it. Searchers take turns on a lock file beside the read model while they index, so two
    processes never index the same rows twice.
    """
    sql = database(db)
    table = sql[spec.table]
    assert isinstance(table, Table)
    fts = f"{spec.table}_fts"
    with _indexing(db):
        if not sql[fts].exists():
            table.enable_fts(spec.columns, create_triggers=False)  # its own transactions (executescript)
        else:
            indexed = ", ".join(f"[{c}]" for c in spec.columns)
            db.execute("begin immediate")
            try:
                # FTS5 answers rowid queries from the content table; its docsize table holds what it indexed.
                db.execute(f"insert into [{fts}] (rowid, {indexed}) select rowid, {indexed} from [{spec.table}] "
                           f"where rowid > (select coalesce(max(id), 0) from [{fts}_docsize])")
                db.execute("commit")
            except BaseException:
                if db.in_transaction:
                    db.execute("rollback")
                raise
    return list(table.search(text, columns=columns, where=where, where_args=dict(where_args or {}),
                             order_by=order_by, limit=limit, quote=True))


_LOCAL = threading.Lock()


@contextmanager
def _indexing(db: sqlite3.Connection) -> Iterator[None]:
    """One indexer at a time: a lock file beside the database file (a thread lock for an in-memory one)."""
    path = next((str(r[2]) for r in db.execute("pragma database_list") if r[1] == "main"), "")
    if not path:
        with _LOCAL:
            yield
        return
    with open(f"{path}.search-lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
