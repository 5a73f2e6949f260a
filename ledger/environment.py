"""Reading environment variables, each checked: the settings (:mod:`ledger.config`) read every variable through
an :class:`EnvReader`, so a bad value is refused with one line naming the variable (a :class:`ValidationError`
whose field is the variable), never a traceback or a silent default."""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.errors import ValidationError


class EnvReader:
    """Reads variables from an environment, each checked; a bad value raises a ValidationError naming it."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str, default: str) -> str:
        """The variable as written (unset: ``default``)."""
        return self.env.get(name, default)

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        """One of ``choices``."""
        value = self.text(name, default)
        if value not in choices:
            raise invalid(name, f"must be {' or '.join(choices)}" if len(choices) == 2
                           else f"must be one of {', '.join(choices)}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        """``1`` or ``0`` (empty: the default)."""
        if not self.text(name, ""):
            return default
        return self.choice(name, "", ("0", "1")) == "1"

    def integer(self, name: str, default: int, *, least: int, most: int | None = None,
                empty: int | None = None) -> int:
        """An integer from ``least`` to ``most`` (empty: ``empty`` when given)."""
        text = self.text(name, str(default))
        if not text and empty is not None:
            return empty
        try:
            value = int(text)
        except ValueError:
            raise invalid(name, "must be an integer") from None
        if value < least or (most is not None and value > most):
            raise invalid(name, f"must be at least {least}" + (f" and at most {most}" if most else ""))
        return value

    def seconds(self, name: str, default: float) -> float:
        """A positive, finite number of seconds."""
        try:
            value = float(self.text(name, str(default)))
        except ValueError:
            raise invalid(name, "must be a number of seconds") from None
        if not value > 0 or value == float("inf"):
            raise invalid(name, "must be a positive number of seconds")
        return value

    def timezone(self, name: str, default: str) -> str:
        """An IANA time zone name."""
        value = self.text(name, default)
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise invalid(name, "must be an IANA time zone (America/New_York)") from None
        return value

    def url(self, name: str, default: str) -> str:
        """An http:// or https:// address."""
        value = self.text(name, default)
        if not value.startswith(("http://", "https://")):
            raise invalid(name, "must be an http:// or https:// URL")
        return value


def invalid(name: str, rule: str) -> ValidationError:
    """The refusal of a variable's value: one line naming the variable and the rule it broke."""
    return ValidationError(f"{name} {rule}", field=name)
