"""Mailer adapters: SMTP (aiosmtplib), a Maildir under var/mail, and an in-memory outbox for tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import glob
import hashlib
import os
import re
import time
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

import aiosmtplib

from ledger.ports.mailer import DeliveryUncertain, Email


def message_bytes(email: Email, linesep: str = "\n") -> bytes:
    """The MIME message of ``email``: its headers, then plain-text and HTML alternatives (UTF-8), lines
    ending in ``linesep`` (CRLF for SMTP, LF in a Maildir file). A part is written as it is (7bit) when it can be:
    someone reading the Maildir file (the README's quick start) sees the text and its links; else base64
    (:func:`_part`).

    Written directly rather than through ``email.message``: its generator walks, folds and re-encodes the
    whole message (2-3 ms of CPU per email with ``EmailMessage``, 0.7 ms with ``compat32``), and the emails
    worker writes one per event that mails. The boundary holds ``_``, which base64 never does, and a 7bit part
    never has a line that starts with it, so no part can contain it. A subject or display name that is not
    printable ASCII is RFC 2047 encoded, a long subject folded; a line break in a header value is refused (it
    would start another header).
    """
    boundary = f"=_ledger_{hashlib.sha1(email.message_id.encode()).hexdigest()}"
    lines = [f"From: {_address(email.sender)}", f"To: {_address(email.to)}", f"Subject: {_subject(email.subject)}",
             f"Message-ID: <{_one_line(email.message_id)}@ledger>"]
    if email.sent_at is not None:
        lines.append(f"Date: {format_datetime(email.sent_at)}")
    lines += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"', ""]
    for subtype, body in (("plain", email.text), ("html", email.html)):
        lines += [f"--{boundary}", f'Content-Type: text/{subtype}; charset="utf-8"', *_part(body)]
    lines += [f"--{boundary}--", ""]
    text = "\n".join(lines)  # the only line breaks: ours and a 7bit part's "\n" (headers refuse them)
    return (text if linesep == "\n" else text.replace("\n", linesep)).encode()


def _part(body: str) -> list[str]:
    """A body part's transfer-encoding header, blank line and content: 7bit when every line is ASCII without a
    carriage return or NUL, at most 998 characters (RFC 5322) and does not start with ``--=_ledger_`` (a
    boundary); base64 otherwise (a name with an accent, a long line)."""
    body_lines = body.split("\n")
    if body.isascii() and "\r" not in body and "\0" not in body and all(
            len(line) <= 998 and not line.startswith("--=_ledger_") for line in body_lines):
        return ["Content-Transfer-Encoding: 7bit", "", *body_lines]
    return ["Content-Transfer-Encoding: base64", "", base64.encodebytes(body.encode()).decode().rstrip("\n")]


def _one_line(value: str) -> str:
    """``value``, refused if it holds a line break (in a header, it would start another header)."""
    if "\n" in value or "\r" in value:
        raise ValueError(f"a line break in an email header: {value[:80]!r}")
    return value


def _subject(value: str) -> str:
    """The Subject header's value: as is when printable ASCII up to 78 characters, else RFC 2047 encoded and
    folded (``email.header``)."""
    if _one_line(value).isascii() and value.isprintable() and len(value) <= 78:
        return value
    return Header(value, "us-ascii" if value.isascii() else "utf-8").encode()


def _address(value: str) -> str:
    """An address header's value: as is when printable ASCII, else its display name RFC 2047 encoded (the
    address never)."""
    if _one_line(value).isascii() and value.isprintable():
        return value
    return formataddr(parseaddr(value), "utf-8")


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
                await smtp.data(message_bytes(email, linesep="\r\n"))
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
            out.write(message_bytes(email))
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
