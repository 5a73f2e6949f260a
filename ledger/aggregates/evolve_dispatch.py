"""The one function that changes an Account's state by an event (see :mod:`ledger.aggregates.evolve`).

Each business area registers its events' changes on it (``evolve.py``, ``evolve_payments.py``,
``evolve_authorizations.py``); importing :mod:`ledger.aggregates.evolve` brings them all.
"""

from __future__ import annotations

from functools import singledispatch

from ledger.aggregates import events as ev
from ledger.aggregates.state import AccountState


@singledispatch
def evolve(event: ev.Event, state: AccountState) -> None:
    """Apply ``event`` to ``state`` in place."""
    raise TypeError(f"no state change defined for {type(event).__name__}")
