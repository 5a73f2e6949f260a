"""The card-number detector per kind of text (issue 15 review): how often each kind of text that is not a card
number is taken for one, and how often a card number written with each separator is missed.

    python -m bench.cards [--per-kind 3000] [--seed 15]

prints these after the mixed free texts of :mod:`bench.cards`. Kinds a card number is never meant to be found
in (UUIDs, hex ids, timestamps, amounts, phone numbers, epochs, addresses, log lines) should read 0; bare
numbers of card length (``cents_minor``: 13 digits) and rows of small integers (``ints_space``, ``table_row``)
cannot be told from a card number by their shape, so about one in ten that start 2-6 pass Luhn and are taken.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

from ledger.cards import card_number_in_text

#: Separators people (and a few tools) put between the groups of a card number.
SEPARATORS = (" ", "-", ".", "/", "_", ":", "|", ", ", " - ", "\t", "\u00a0", "\u2013", "\u2014", "\u2009",
              "\u200b", "  ", "\n", "*", "~", "+", "=", "  |  ", "\u3000", "\u2212", "\u30fc", "\uff70",
              " . ", "      ", "\t\t\t")


def with_check_digit(rng: random.Random, prefix: str, length: int) -> str:
    """A Luhn-valid number of ``length`` digits starting with ``prefix`` (the textbook check, not the ledger's)."""
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        number = body + check
        total = sum(sum(map(int, str(int(char) * (1 + position % 2)))) for position, char in
                    enumerate(reversed(number)))
        if total % 10 == 0:
            return number
    raise AssertionError("one check digit always fits")


def card_number(rng: random.Random) -> str:
    """A number as the networks issue them: Visa 13/16, Mastercard, Amex, Discover, UnionPay 19."""
    prefix, length = rng.choice((("4", 16), ("51", 16), ("55", 16), ("34", 15), ("37", 15), ("6011", 16),
                                 ("4", 13), ("62", 19)))
    return with_check_digit(rng, prefix, length)


def printed(number: str) -> list[str]:
    """The groups a card shows: 4-6-5 for a 15-digit Amex, fours otherwise."""
    if len(number) == 15:
        return [number[:4], number[4:10], number[10:]]
    return [number[i:i + 4] for i in range(0, len(number), 4)]


def misses(rng: random.Random, per_separator: int) -> dict[str, int]:
    """Per separator, how many of ``per_separator`` printed card numbers in a sentence are missed; and the Amex
    4-6-5 with a space then a dash (``3782 822463-10005``)."""
    missed = {repr(separator): sum(not card_number_in_text(f"ref {separator.join(printed(card_number(rng)))} ok")
                                   for _ in range(per_separator)) for separator in SEPARATORS}
    amex = (with_check_digit(rng, rng.choice(("34", "37")), 15) for _ in range(per_separator))
    missed["amex 4 6-5"] = sum(not card_number_in_text(f"{n[:4]} {n[4:10]}-{n[10:]}") for n in amex)
    return missed


def _date(rng: random.Random) -> str:
    return f"20{rng.randint(10, 39)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _instant(rng: random.Random) -> str:
    return (f"{_date(rng)}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}."
            f"{rng.randint(0, 999999):06d}+00:00")


def _amount(rng: random.Random) -> str:
    return f"{rng.randint(0, 99999999)}.{rng.randint(0, 99):02d}"


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


KINDS: dict[str, Callable[[random.Random], str]] = {
    "uuid": lambda r: str(uuid.UUID(int=r.getrandbits(128))),
    "uuid_hex": lambda r: uuid.UUID(int=r.getrandbits(128)).hex,
    "txn_hex": lambda r: f"paid txn_{r.getrandbits(96):024x}",
    "txn_digits": lambda r: "txn_" + _digits(r, 24),
    "instant": _instant,
    "date_amount": lambda r: f"{_date(r)} {_amount(r)}",
    "date_date": lambda r: f"{_date(r)} {_date(r)}",
    "date_amounts_pipe": lambda r: f"{_date(r)} | {_amount(r)} | {_amount(r)}",
    "amounts_list": lambda r: " ".join(_amount(r) for _ in range(4)),
    "amounts_comma": lambda r: ", ".join(_amount(r) for _ in range(4)),
    "invoice_ids": lambda r: " ".join(f"INV-{r.randint(1000, 999999)}" for _ in range(4)),
    "order_amount": lambda r: f"ORD-{r.randint(2020, 2030)}-{r.randint(0, 999999):06d} {r.randint(10000, 99999)}",
    "phone": lambda r: f"+1 {r.randint(200, 999)}-{r.randint(200, 999)}-{r.randint(1000, 9999)} ext "
                       f"{r.randint(100, 9999)}",
    "epoch_ms": lambda r: str(r.randint(1_600_000_000_000, 1_900_000_000_000)),
    "epoch_ns": lambda r: str(r.randint(1_600_000_000_000_000_000, 1_900_000_000_000_000_000)),
    "log_line": lambda r: f"{_instant(r)} account=ACC{r.randint(1, 99999)} amount={_amount(r)} at "
                          f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}",
    "ip_port": lambda r: ".".join(str(r.randint(0, 255)) for _ in range(4)) + f":{r.randint(1000, 65535)}",
    "versions": lambda r: f"notification {r.randint(1, 10**7)} version {r.randint(1, 10**5)} position "
                          f"{r.randint(1, 10**7)}",
    "ints_space": lambda r: " ".join(str(r.randint(0, 9999)) for _ in range(5)),
    "table_row": lambda r: "".join(str(r.randint(0, 9999)).rjust(10) for _ in range(5)),
    "cents_minor": lambda r: f"{r.randint(10**12, 10**13)} minor units",
}


def false_positives(rng: random.Random, per_kind: int) -> dict[str, tuple[int, list[str]]]:
    """Per kind, how many of ``per_kind`` generated texts are taken for a card number, and two of them."""
    found: dict[str, tuple[int, list[str]]] = {}
    for name, make in KINDS.items():
        flagged = [text for text in (make(rng) for _ in range(per_kind)) if card_number_in_text(text)]
        found[name] = len(flagged), flagged[:2]
    return found


def report(per_kind: int, seed: int) -> None:
    """Print the misses per separator and the false positives per kind."""
    rng = random.Random(seed)
    missed = {name: count for name, count in misses(rng, per_kind // 10).items() if count}
    print(f"missed card numbers (of {per_kind // 10} per separator): {missed or 'none'}")
    for name, (count, examples) in false_positives(rng, per_kind).items():
        print(f"false positives {name:18s} {count:5d}/{per_kind} ({count / per_kind:6.2%})  e.g. {examples}")
