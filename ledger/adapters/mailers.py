"""Mailer adapters: SMTP (aiosmtplib), a Maildir under var/mail, and an in-memory outbox for tests."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from ledger.ports.mailer import Email


def to_message(email: Email) -> EmailMessage:
    """A MIME message with plain-text and HTML parts."""
    message = EmailMessage()
    message["From"] = email.sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = f"<{email.message_id}@ledger>"
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


class SmtpMailer:
    """Sends through an SMTP relay (SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD, SMTP_STARTTLS)."""

    def __init__(self, host: str, port: int = 25, *, username: str | None = None, password: str | None = None,
                 start_tls: bool = False, timeout: float = 30.0) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.start_tls, self.timeout = start_tls, timeout

    async def send(self, email: Email) -> None:
        """Deliver over SMTP; raises on any refusal so the worker retries later."""
        await aiosmtplib.send(to_message(email), hostname=self.host, port=self.port, username=self.username,
                              password=self.password, start_tls=self.start_tls, timeout=self.timeout)


class MaildirMailer:
    """Writes each email into a Maildir (``var/mail``) when no SMTP host is configured."""

    def __init__(self, folder: Path) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        self.box = mailbox.Maildir(str(folder), create=True)
        for sub in ("tmp", "new", "cur"):  # an existing but empty folder gets its Maildir structure too
            (folder / sub).mkdir(parents=True, exist_ok=True)

    async def send(self, email: Email) -> None:
        """Add the message to the Maildir."""
        self.box.add(to_message(email))


class MemoryMailer:
    """Keeps emails in a list (tests)."""

    def __init__(self) -> None:
        self.sent: list[Email] = []

    async def send(self, email: Email) -> None:
        """Remember ``email``."""
        self.sent.append(email)
