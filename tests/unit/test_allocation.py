from __future__ import annotations

from ledger.aggregates.allocation import allocate_explicit, apply_credits, distribute
from ledger.aggregates.events.payments import Line


def test_distribution_pays_oldest_first_and_returns_the_excess() -> None:
    result = distribute(15000, [("invoice", "OLD", 10000), ("invoice", "MID", 3000), ("invoice", "NEW", 9000)])
    assert result.lines == (Line("invoice", "OLD", 10000), Line("invoice", "MID", 3000),
                            Line("invoice", "NEW", 2000))
    assert result.excess == 0
    over = distribute(20000, [("invoice", "A", 5000)])
    assert over.lines == (Line("invoice", "A", 5000),) and over.excess == 15000


def test_explicit_amounts_are_capped_at_what_is_open() -> None:
    result = allocate_explicit([Line("invoice", "A", 7000), Line("order", "O", 500)],
                               {("invoice", "A"): 5000, ("order", "O"): 800})
    assert result.lines == (Line("invoice", "A", 5000), Line("order", "O", 500))
    assert result.excess == 2000


def test_credits_are_spent_oldest_first_and_never_past_their_remaining() -> None:
    spent = apply_credits([("C1", 300), ("C2", 1000)], [("invoice", "A", 500), ("invoice", "B", 200)])
    assert spent == [("C1", Line("invoice", "A", 300)), ("C2", Line("invoice", "A", 200)),
                     ("C2", Line("invoice", "B", 200))]
    assert apply_credits([("C1", 0)], [("invoice", "A", 500)]) == []
