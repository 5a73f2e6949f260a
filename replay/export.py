"""``ledger audit export``: the journal and the audit log of a period, as CSV or JSON lines, for auditors.

The last record is the hash chain's head at export time (``record`` = ``chain``), an anchor the auditor keeps.
Instants (``at``, and those in ``details``: ``expires_at=...``) are ISO-8601 in the business time zone with its
offset, as every instant a person reads (issue 14), and exact (microseconds kept): still parseable, still the
instant the log holds.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import msgspec

from ledger.aggregates import events as ev
from ledger.double_entry import Journal
from ledger.errors import ValidationError
from ledger.ports.clock import DEFAULT_ZONE, local_text, local_texts_in
from ledger.projections.describe import comment, details
from replay.history import events

if TYPE_CHECKING:
    from ledger.store.application import LedgerStore

#: One exported line, by column.
Record = dict[str, object]
#: ``debit`` and ``credit`` are integers in minor units of ``currency`` (exact; 10000 USD is 100.00).
COLUMNS = ("record", "position", "event_id", "at", "account", "event", "actor", "channel", "comment",
           "ledger_account", "currency", "debit", "credit", "details")


def records(store: LedgerStore, start: datetime, end: datetime, progress: Callable[[int], None] | None = None,
            zone: ZoneInfo | None = None) -> Iterator[Record]:
    """One ``audit`` record per event and one ``posting`` record per journal line, in log order, [start, end);
    instants in ``zone`` (DEFAULT_ZONE if left out), the configured LEDGER_TIMEZONE from the CLI.

    Raises :class:`ValidationError` (field ``to``) at once when the period is empty or reversed.
    """
    if end <= start:
        raise ValidationError("--to must be after --from", field="to")
    return _records(store, start, end, progress, zone or ZoneInfo(DEFAULT_ZONE))


def _records(store: LedgerStore, start: datetime, end: datetime, progress: Callable[[int], None] | None,
             zone: ZoneInfo) -> Iterator[Record]:
    journal = Journal()
    currencies: dict[str, str] = {}
    names: dict[str, str] = {}
    for position, event in events(store, progress=progress):
        entry = journal.post(event)
        key = str(event.originator_id)
        if isinstance(event, ev.AccountOpened):
            currencies[key], names[key] = event.currency, event.account_id
        elif isinstance(event, ev.PaymentReceivedUnidentified):  # one aggregate per payment awaiting research
            currencies[key], names[key] = event.currency, f"research {event.payment_id}"
        if not start <= event.timestamp < end:
            continue
        at = local_text(event.timestamp, zone, exact=True)
        base = {"position": position, "event_id": event.event_id, "at": at, "account": names.get(key, key),
                "event": type(event).__name__, "actor": event.by.describe(), "channel": event.by.channel}
        yield {"record": "audit", **base, "comment": comment(event),
               "details": local_texts_in(details(event, currencies.get(key) or getattr(event, "currency", None)),
                                         zone, exact=True)}
        for posting in entry.postings:
            yield {"record": "posting", **base, "ledger_account": posting.account, "currency": entry.currency,
                   "debit": posting.debit, "credit": posting.credit}


def anchor_record(position: int, digest: str) -> Record:
    """The hash chain's head when the export was made: keep it, ``audit verify --anchor POSITION:HASH`` later."""
    return {"record": "chain", "position": position, "details": f"{position}:{digest}"}


#: What a spreadsheet reads as a formula at the start of a cell (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def spreadsheet_safe(value: object) -> object:
    """A CSV cell a spreadsheet shows as typed: text that would start a formula (an account named
    ``=HYPERLINK(...)``, a reference ``@SUM(A1)``) gets a leading ``'``; amounts (``-5.00``) stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def render(rows: Iterable[Record], fmt: str) -> Iterator[str]:
    """CSV (with a header, every cell :func:`spreadsheet_safe`) or JSON lines (as recorded)."""
    if fmt == "jsonl":
        for row in rows:
            yield msgspec.json.encode(row).decode() + "\n"
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: spreadsheet_safe(value) for key, value in row.items()})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
