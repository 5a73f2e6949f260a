"""Aggregates: pure rules and events, no I/O, no clock, no randomness."""

from ledger.aggregates.account import Account
from ledger.aggregates.research import UnidentifiedPayment

__all__ = ["Account", "UnidentifiedPayment"]
