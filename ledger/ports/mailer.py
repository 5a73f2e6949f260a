"""The Mailer port: where customer emails go (SMTP, or a Maildir when no SMTP host is configured)."""

from __future__ import annotations

from datetime import datetime
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
    #: The Date header: the time of the event that caused the email (the same on every retry).
    sent_at: datetime | None = None


class DeliveryUncertain(Exception):
    """The email may or may not have been delivered (the connection broke after its content was handed over):
    sending it again could send it twice, so the email worker records it for an operator instead."""


class Mailer(Protocol):
    """Delivers emails.

    ``send`` raises :class:`DeliveryUncertain` when it cannot tell whether the email went out, any other
    exception when it surely did not (the worker then retries later). ``idempotent`` says whether sending the
    same ``message_id`` twice delivers it once (a Maildir keyed by message id), so a worker that crashed
    mid-send may simply send again.
    """

    idempotent: bool

    async def send(self, email: Email) -> None:
        """Deliver ``email`` or raise."""
        ...
