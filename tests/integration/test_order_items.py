"""Orders carry their line items (seed 001: the order history shows each order's first items and the full order):
validated at the edge, recorded on OrderPlaced version 2, kept by the accounts read model, kept by a
replacement order, and absent (not an error) on orders placed before items were recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.errors import ValidationError
from ledger.ports.ids import account_uuid
from ledger.projections import queries
from ledger.projections.keeper import ProjectionKeeper


def shirt(quantity: int = 2, price: str = "12.50") -> m.OrderItemIn:
    return m.OrderItemIn(sku="TSHIRT-M", description="T-shirt, medium", quantity=quantity, unit_price=price)


def history(ledger: Ledger, folder: Path) -> list[dict[str, object]]:
    keeper = ProjectionKeeper(ledger.store, folder)
    try:
        keeper.catch_up(["accounts"])
        clock = ledger.ports.clock
        return queries.order_history(keeper.connection("accounts"), "ACC1", None, clock.now(), clock.zone)
    finally:
        keeper.close()


def test_items_reach_the_order_history_and_a_replacement(ledger: Ledger, tmp_path: Path) -> None:
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    ledger.service.handle(m.PlaceOrder(account="ACC1", order="SO-1", amount="25.00", items=[shirt()]))
    ledger.service.handle(m.PlaceOrder(account="ACC1", order="SO-0", amount="5.00"))
    ledger.service.handle(m.ReplaceOrder(account="ACC1", order="SO-1", new_order="SO-2", amount="30.00"))
    rows = {row["id"]: row for row in history(ledger, tmp_path)}
    line = {"sku": "TSHIRT-M", "description": "T-shirt, medium", "quantity": 2, "unit_price": "12.50"}
    assert rows["SO-1"]["items"] == [line] and rows["SO-2"]["items"] == [line]
    assert rows["SO-0"]["items"] == []


@pytest.mark.parametrize(("item", "field"), [
    (shirt(quantity=0), "items[0].quantity"),
    (shirt(price="twelve"), "items[0].unit_price"),
    (m.OrderItemIn(sku="", quantity=1, unit_price="1.00"), "items[0].sku"),
])
def test_a_bad_line_is_refused_naming_it_and_nothing_is_written(ledger: Ledger, item: m.OrderItemIn,
                                                                field: str) -> None:
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    with pytest.raises(ValidationError) as refused:
        ledger.service.handle(m.PlaceOrder(account="ACC1", order="SO-1", amount="25.00", items=[item]))
    assert refused.value.field == field
    assert ledger.store.account(account_uuid("ACC1")).state.orders == {}
