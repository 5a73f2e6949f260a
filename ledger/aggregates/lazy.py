"""A dict whose values stay encoded until first read, so a customer with a long history loads fast.

A snapshot of an Account with 100k events holds ~70k invoices, payments, orders, holds and idempotency
records; decoding them all costs far more than a command ever reads (it touches a handful). The snapshot
decoder therefore leaves each value as the :class:`msgspec.Raw` JSON it was stored as, and this dict decodes
a value the first time it is read. Encoding a :class:`LazyDict` as JSON writes untouched values back verbatim.

Every way of reading a value goes through a decoding method here (``d[k]``, ``get``, ``values``, ``items``,
``pop``, ``setdefault``, ``popitem``, ``copy``, ``==``); keys, ``len`` and ``in`` need no decoding. Copying
one with C-level tools (``dict(d)``, ``{**d}``) would see encoded values: the state code does not.
"""

from __future__ import annotations

from collections.abc import ItemsView, ValuesView
from typing import Any, Generic, TypeVar

import msgspec

V = TypeVar("V")
_MISSING: Any = object()


class LazyDict(dict[str, V], Generic[V]):
    """``dict[str, V]`` whose values may still be ``msgspec.Raw`` JSON, decoded by ``decoder`` on first read."""

    __slots__ = ("_decoder", "_encoded")
    __hash__ = None

    def __init__(self, encoded: dict[str, Any], decoder: msgspec.json.Decoder[V]) -> None:
        super().__init__(encoded)
        self._decoder = decoder
        self._encoded = len(encoded)  # values possibly still encoded (an upper bound)

    def _decoded(self, key: str, value: Any) -> V:
        if type(value) is msgspec.Raw:
            value = self._decoder.decode(value)
            dict.__setitem__(self, key, value)
            self._encoded -= 1
        return value  # type: ignore[no-any-return]

    def decode_all(self) -> None:
        """Decode every value still encoded."""
        if self._encoded > 0:
            for key, value in dict.items(self):
                if type(value) is msgspec.Raw:
                    dict.__setitem__(self, key, self._decoder.decode(value))  # type: ignore[arg-type]
            self._encoded = 0

    def __getitem__(self, key: str) -> V:
        return self._decoded(key, dict.__getitem__(self, key))

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` (decoded), or ``default``."""
        value = dict.get(self, key, _MISSING)
        return default if value is _MISSING else self._decoded(key, value)

    def values(self) -> ValuesView[V]:  # type: ignore[override]
        """Every value, decoded."""
        self.decode_all()
        return dict.values(self)

    def items(self) -> ItemsView[str, V]:  # type: ignore[override]
        """Every (key, value), decoded."""
        self.decode_all()
        return dict.items(self)

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        """Remove ``key`` and return its value (decoded)."""
        if key in self:
            value = self[key]
            dict.pop(self, key)
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def setdefault(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` (decoded), set to ``default`` first when missing."""
        return self[key] if key in self else dict.setdefault(self, key, default)

    def popitem(self) -> tuple[str, V]:
        """Remove and return the last (key, value), decoded."""
        key = next(reversed(self))
        return key, self.pop(key)

    def copy(self) -> dict[str, V]:
        """A plain dict of the decoded values."""
        return dict(self.items())

    def __eq__(self, other: object) -> bool:
        self.decode_all()
        if isinstance(other, LazyDict):
            other.decode_all()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __repr__(self) -> str:
        self.decode_all()
        return dict.__repr__(self)
