"""Stored topics of events and snapshots, and the upcasters that bring old event shapes up to date.

A stored event's topic is ``<EventName>:<class_version>`` (e.g. ``PaymentApplied:1``), independent of module
paths, so code can move freely. To change an event's fields:

1. raise its ``class_version`` (``class_version = 2``) and change the fields;
2. register an upcaster for the old version that rewrites the stored JSON object::

       @upcaster("PaymentApplied", 1)
       def _(state: dict[str, object]) -> dict[str, object]:
           return {**state, "distributed": False}

Upcasters chain (1 -> 2 -> 3). History is never rewritten; old rows are upcast when read.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.aggregates import events as ev
from ledger.aggregates.root import AccountSnapshot

Upcaster = Callable[[dict[str, object]], dict[str, object]]

#: Bump when the shape of AccountState changes; older snapshots are discarded (rebuilt from events).
#: 2: array-like state Structs, read lazily (ledger.aggregates.state_codec).
#: 3: an order's manual-processing flag is cleared by a later successful reauthorization.
#: 4: a refund's idempotency record keeps a fingerprint of the refund (a key reused for another is refused).
#: 5: holds waiting on a reauthorization (or after a failed one) follow their order when it is replaced; a hold
#:    keeps its order's price when it was placed.
#: 6: a hold keeps its order's id, price and paid amount when its cart link was sent (stale carts, issue 14);
#:    the state lists the pending payments (the exact amount due counts them); a credit keeps its deposit purpose;
#:    a hold keeps that its expiry was recorded.
#: 7: the state keeps the cart links sent (their token hashes, status and the hold that used them): a snapshot
#:    from before would load with no carts and refuse every link sent earlier as cart_token_invalid.
#: 8: a card held for an order takes it off manual processing, whoever placed the hold.
#: 9: an expiry recorded after the hold's cart link was sent keeps the hold ``reauth_requested`` (issue 14).
#: 10: a hold keeps what it holds, a card or PayPal (its capture is a payment by that method, issue 14).
#: 11: a payment keeps what its distribution planned to pay while it was pending (PaymentSubmitted 3).
#: 12: a hold recorded before holds kept their method reads it as unknown (None), not card: its capture (and its
#:     reauthorization with no new token) asks the gateway what its token is, a PayPal account or a card.
#: 13: a hold's cart remembers what was paid, pending or held by the order's other holds when it was sent
#:     (``cart_covered``), and a pending payment meant for a replaced order is counted on its successor (issue 14).
#: 14: a payment recorded before plans (PaymentSubmitted 2) keeps ``planned`` None, not an empty plan (review
#:     finding 9: a version 3 distribution that found nothing due plans nothing and covers nothing).
SNAPSHOT_VERSION = 14

UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function that turns version ``from_version`` of event ``name`` into the next version."""

    def register(func: Upcaster) -> Upcaster:
        UPCASTERS[(name, from_version)] = func
        return func

    return register


@upcaster("OrderPlaced", 1)
def _order_items(state: dict[str, object]) -> dict[str, object]:
    """Orders placed before line items were recorded have none."""
    return {**state, "items": []}


@upcaster("PaymentSubmitted", 1)
def _(state: dict[str, object]) -> dict[str, object]:
    """Version 1 had no deposit purposes: every deposit was open credit."""
    instruction = state["instruction"]
    assert isinstance(instruction, dict)
    return {**state, "instruction": {**instruction, "purpose": None}}


@upcaster("PaymentSubmitted", 2)
def _(state: dict[str, object]) -> dict[str, object]:
    """Version 2 recorded no plan: a distribution left pending was allocated only when it settled (``None``,
    never an empty plan, which a version 3 distribution that found nothing due records)."""
    return {**state, "planned": None}


@upcaster("PaymentDeposited", 1)
def _(state: dict[str, object]) -> dict[str, object]:
    """Version 1 had no deposit purposes: every deposit was open credit."""
    return {**state, "purpose": None}


def topic_of(cls: type[ev.Event] | type[AccountSnapshot]) -> str:
    """The stored topic of an event or snapshot class."""
    if issubclass(cls, AccountSnapshot):
        return f"AccountSnapshot:{SNAPSHOT_VERSION}"
    return f"{cls.__name__}:{cls.class_version}"


def resolve(topic: str) -> tuple[type[ev.Event] | type[AccountSnapshot], int]:
    """The class and stored version named by ``topic``."""
    name, _, version = topic.partition(":")
    if name == "AccountSnapshot":
        return AccountSnapshot, int(version)
    cls = ev.EVENT_TYPES.get(name)
    if cls is None:
        raise LookupError(f"unknown event topic {topic!r}")
    return cls, int(version or 1)


def upcast(name: str, version: int, current: int, state: dict[str, object]) -> dict[str, object]:
    """Apply the registered upcasters from ``version`` up to ``current``."""
    while version < current:
        step = UPCASTERS.get((name, version))
        if step is None:
            raise LookupError(f"no upcaster for {name} version {version}")
        state = step(state)
        version += 1
    return state
