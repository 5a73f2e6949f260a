"""Read queries over the audit log's read model (``audit``): the rows by account, actor and period, full-text
search, the account ids it knows and its newest instant. Instants are shown in the business time zone as in
:mod:`ledger.projections.queries`.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from ledger.aggregates.events.base import event_uuid
from ledger.errors import NotFound, ValidationError
from ledger.ports.clock import DEFAULT_ZONE, local_texts_in
from ledger.projections.audit_log import SEARCH
from ledger.projections.base import SqlValue
from ledger.projections.queries import Row, _local, _rows, _utc_text
from ledger.projections.schema import search

#: The audit log's columns read for a row (``account`` and ``version`` give way to the event id).
AUDIT_COLUMNS = ("position", "account", "version", "at", "actor_kind", "actor_name", "channel", "account_id", "event",
                 "comment", "details")


def actor_filter(actor: str) -> tuple[str, tuple[str, ...]]:
    """The audit-log clause for ``--actor``: ``KIND:NAME`` (``csr:jdoe``, as ``--actor`` is given everywhere)
    matches kind and name, a bare ``NAME`` (``jdoe``) any kind; an empty part is a ValidationError naming
    ``actor``."""
    kind, colon, name = actor.partition(":")
    if not kind or (colon and not name):
        raise ValidationError(f"actor must be KIND:NAME (csr:jdoe) or NAME (jdoe), not {actor[:80]!r}",
                              field="actor")
    if colon:
        return "actor_kind = ? and actor_name = ?", (kind, name)
    return "actor_name = ?", (kind,)


def audit_log(db: sqlite3.Connection, *, account_id: str | None = None, actor: str | None = None,
              since: datetime | None = None, until: datetime | None = None, limit: int = 200,
              zone: ZoneInfo | None = None) -> list[Row]:
    """Audit rows, newest last, filterable by account, actor (see :func:`actor_filter`) and period
    [since, until); ``at`` in the business time zone. An unknown account is NotFound naming ``account``."""
    sql = f"select {', '.join(AUDIT_COLUMNS)} from audit_log where 1 = 1"
    params: tuple[SqlValue, ...] = ()
    if account_id is not None:
        if db.execute("select 1 from audit_accounts where account_id = ?", (account_id,)).fetchone() is None:
            raise NotFound(f"no account {account_id}", field="account")
        sql += " and account_id = ?"
        params += (account_id,)
    if actor is not None:
        clause, values = actor_filter(actor)
        sql += f" and {clause}"
        params += values
    for clause, moment in (("at >= ?", since), ("at < ?", until)):
        if moment is not None:
            sql += f" and {clause}"
            params += (_utc_text(moment),)
    rows = _rows(db, f"select * from ({sql} order by position desc limit ?) order by position", (*params, limit))
    return _audit_rows(rows, zone)


def _audit_rows(rows: list[Row], zone: ZoneInfo | None) -> list[Row]:
    """Audit rows as shown: the event id derived from the aggregate and its version, ``at`` and the instants in
    the details in ``zone``."""
    tz = zone or ZoneInfo(DEFAULT_ZONE)
    for row in rows:
        row["event_id"] = event_uuid(UUID(row.pop("account")), row.pop("version"))
        row["details"] = local_texts_in(row["details"], tz)
    return _local(rows, zone, "at")


def audit_search(db: sqlite3.Connection, text: str, *, account_id: str | None = None, limit: int = 200,
                 zone: ZoneInfo | None = None) -> list[Row]:
    """The newest ``limit`` audit rows matching every word of ``text`` in their comment, details (references,
    ids, amounts), actor, channel or event type (full-text, :data:`ledger.projections.audit_log.SEARCH`), newest
    last, as :func:`audit_log` shows them."""
    words = text.replace('"', " ")  # a quote is no part of a word (each word is searched as written)
    if "\x00" in words:
        raise ValidationError("search text holds a NUL character", field="text")
    if not words.strip():
        raise ValidationError("search text is empty", field="text")
    where, args = ("account_id = :a", {"a": account_id}) if account_id is not None else (None, None)
    found = search(db, SEARCH, words, columns=AUDIT_COLUMNS, where=where, where_args=args, order_by="rowid desc",
                   limit=limit)
    return _audit_rows(found[::-1], zone)


def account_ids(db: sqlite3.Connection) -> dict[str, str]:
    """Account ids by aggregate id (the ``audit`` read model): findings name the account finance knows."""
    return {str(aggregate): str(account_id)
            for aggregate, account_id in db.execute("select account, account_id from audit_accounts")}


def newest_audit_instant(db: sqlite3.Connection) -> str | None:
    """When the newest event in the audit log was recorded (stored UTC text), None for an empty log."""
    row = db.execute("select max(at) from audit_log").fetchone()
    return None if row is None or row[0] is None else str(row[0])
