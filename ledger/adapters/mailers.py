"""Mailer adapters: SMTP (aiosmtplib), a Maildir under var/mail, and an in-memory outbox for tests."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import re
import time
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

import aiosmtplib

from ledger.ports.mailer import DeliveryUncertain, Email

#: How messages are written for SMTP: the ``compat32`` policy of :func:`to_message`, with CRLF line ends.
SMTP_LINES = compat32.clone(linesep="\r\n")


def to_message(email: Email) -> Message:
    """A MIME message with plain-text and HTML parts (UTF-8, base64), its headers set explicitly.

    Built with the ``compat32`` classes (``email.mime``), not ``EmailMessage``: the default policy parses every
    header into objects and picks each part's encoding by scanning it, ~3x the CPU for the same message, and
    the emails worker builds one per event that mails. A header that is not ASCII is RFC 2047 encoded.
    """
    message = MIMEMultipart("alternative")
    message["From"], message["To"] = _address(email.sender), _address(email.to)
    message["Subject"] = email.subject if email.subject.isascii() else Header(email.subject, "utf-8")  # type: ignore[assignment]
    message["Message-ID"] = f"<{email.message_id}@ledger>"
    if email.sent_at is not None:
        message["Date"] = format_datetime(email.sent_at)
    message.attach(MIMEText(email.text, "plain", "utf-8"))
    message.attach(MIMEText(email.html, "html", "utf-8"))
    return message


def _address(value: str) -> str:
    """``value`` as a header: unchanged if ASCII, else its display name RFC 2047 encoded (the address never)."""
    return value if value.isascii() else formataddr(parseaddr(value), "utf-8")


class SmtpMailer:
    """Sends through an SMTP relay (SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD, SMTP_STARTTLS).

    Every failure before the message content is handed over (connection, login, a refused sender or
    recipient, a refusal code after DATA) means it was not sent: the exception propagates and the worker
    retries. A connection lost or timed out while waiting for the server's answer to the content is
    :class:`DeliveryUncertain`: the server may have queued it.
    """

    idempotent = False

    def __init__(self, host: str, port: int = 25, *, username: str | None = None, password: str | None = None,
                 start_tls: bool = False, timeout: float = 30.0) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.start_tls, self.timeout = start_tls, timeout

    async def send(self, email: Email) -> None:
        """Deliver over SMTP; see the class docstring for what each failure means."""
        smtp = aiosmtplib.SMTP(hostname=self.host, port=self.port, username=self.username, password=self.password,
                               start_tls=self.start_tls, timeout=self.timeout)
        await smtp.connect()
        try:
            await smtp.mail(email.sender)
            await smtp.rcpt(email.to)
            try:
                await smtp.data(to_message(email).as_bytes(policy=SMTP_LINES))
            except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as error:
                raise DeliveryUncertain(f"no answer to the message content: {error!r}") from error
        finally:
            with contextlib.suppress(Exception):
                await smtp.quit()
            smtp.close()


def maildir_key(message_id: str) -> str:
    """A Maildir file name for ``message_id`` (letters, digits, ``-``, ``_``, ``.`` only)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", message_id) or "_"


class MaildirMailer:
    """Writes each email into a Maildir (``var/mail``) when no SMTP host is configured.

    The file is named by the email's message id (written to ``tmp/``, then renamed into ``new/``, the Maildir
    protocol), so sending the same email again is a no-op even after a crash between the two steps, and any
    Maildir reader (mutt, ``mailbox.Maildir``) sees it once.
    """

    idempotent = True

    #: The Maildir convention: a file left in ``tmp/`` this long (seconds) was abandoned by a crashed writer.
    abandoned_after = 36 * 3600

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        for sub in ("tmp", "new", "cur"):  # an existing but empty folder gets its Maildir structure too
            (folder / sub).mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - self.abandoned_after
        for left in (folder / "tmp").iterdir():  # a writer killed between writing and delivering
            with contextlib.suppress(OSError):
                if left.stat().st_mtime < cutoff:
                    left.unlink()

    def delivered(self, message_id: str) -> bool:
        """Whether the email with ``message_id`` is in the Maildir (unread in new/, or read in cur/)."""
        key = maildir_key(message_id)
        if (self.folder / "new" / key).exists() or (self.folder / "cur" / key).exists():
            return True
        return bool(glob.glob(str(self.folder / "cur" / f"{glob.escape(key)}:*")))  # read: "<key>:2,<flags>"

    def _deliver(self, email: Email) -> None:
        if self.delivered(email.message_id):
            return
        key = maildir_key(email.message_id)
        temporary = self.folder / "tmp" / f"{key}.{os.getpid()}"
        with temporary.open("wb") as out:
            out.write(to_message(email).as_bytes())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.folder / "new" / key)

    async def send(self, email: Email) -> None:
        """Add the message to the Maildir (once per message id)."""
        await asyncio.to_thread(self._deliver, email)


class MemoryMailer:
    """Keeps emails in a list (tests); not idempotent, so a duplicate shows up as two entries."""

    idempotent = False

    def __init__(self) -> None:
        self.sent: list[Email] = []

    async def send(self, email: Email) -> None:
        """Remember ``email``."""
        self.sent.append(email)
