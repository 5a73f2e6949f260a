"""Read models derived from the notification log: accounts (balances, portal tabs, CSR dashboard), the audit
log and the journal. Each lives in its own SQLite file and can be rebuilt from the log at any time."""

from __future__ import annotations

from ledger.projections.accounts import AccountsProjection
from ledger.projections.audit_log import AuditLogProjection
from ledger.projections.base import Projection
from ledger.projections.journal import JournalProjection

#: Every projection class by name; adding a projection = writing its module, listing it here, rebuilding it.
PROJECTIONS: dict[str, type[Projection]] = {
    cls.name: cls for cls in (AccountsProjection, AuditLogProjection, JournalProjection)
}


def fresh(names: list[str] | None = None) -> list[Projection]:
    """New instances of the named projections (all of them by default), each once, in the order named."""
    chosen = list(dict.fromkeys(names or PROJECTIONS))
    unknown = [n for n in chosen if n not in PROJECTIONS]
    if unknown:
        from ledger.errors import ValidationError

        raise ValidationError(f"unknown projection {unknown[0]!r}", field="name")
    return [PROJECTIONS[n]() for n in chosen]
