"""The Mailer port: where customer emails go (SMTP, or a Maildir when no SMTP host is configured)."""

from __future__ import annotations

from typing import Protocol

import msgspec


class Email(msgspec.Struct, frozen=True):
    """One email; ``message_id`` is derived from the event that caused it, so receivers can deduplicate."""

    to: str
    subject: str
    text: str
    html: str
    message_id: str
    sender: str = "ledger@localhost"


class Mailer(Protocol):
    """Delivers emails."""

    async def send(self, email: Email) -> None:
        """Deliver ``email`` or raise."""
        ...
