"""Erasing a forgotten person's emails from the ledger's own Maildir (``$LEDGER_HOME/mail``).

Without SMTP_HOST the ledger delivers customer emails to this Maildir (``make run``, the embedded defaults): the
messages never left the ledger's home, so they are its own outbox and ``account forget`` must reach them. Every
message there addressed to one of the forgotten addresses (its ``To:`` address, whatever its case; unread in
``new/``, read in ``cur/``, half-written in ``tmp/``) is overwritten with zeros, flushed, then deleted. Mail sent
over SMTP is the recipient's and out of reach; so are copies taken of the folder (backups), and the zeros reach
the disk's own blocks only on a file system that writes in place (not a copy-on-write one, nor an SSD's
remapped blocks: use disk encryption for those).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from pathlib import Path

#: A message's header block is read from at most this many bytes (the ledger's headers are a few hundred).
HEADER_BYTES = 64 * 1024


def erase_mail(folder: Path, addresses: Iterable[str]) -> int:
    """Overwrite and delete every message of the Maildir ``folder`` addressed to one of ``addresses``; how many.
    A missing folder has none; a message moved or deleted meanwhile (a mail reader) is skipped."""
    wanted = {address.strip().lower() for address in addresses if "@" in address}
    erased = 0
    if not wanted:
        return erased
    for sub in ("new", "cur", "tmp"):
        with contextlib.suppress(FileNotFoundError):
            for message in (folder / sub).iterdir():
                with contextlib.suppress(FileNotFoundError):
                    if message.is_file() and recipients(message) & wanted:
                        shred(message)
                        erased += 1
    return erased


def recipients(message: Path) -> set[str]:
    """The addresses of a message file's ``To:`` header, lower-cased."""
    with message.open("rb") as data:
        headers = BytesHeaderParser(policy=compat32).parsebytes(data.read(HEADER_BYTES))
    return {address.strip().lower() for _, address in getaddresses([str(value) for value in
                                                                     headers.get_all("To", [])]) if address}


def shred(message: Path) -> None:
    """Overwrite the file with zeros, flush it to the disk, then delete it."""
    with message.open("r+b") as data:
        left = os.fstat(data.fileno()).st_size
        while left > 0:
            left -= data.write(bytes(min(left, HEADER_BYTES)))
        data.flush()
        os.fsync(data.fileno())
    message.unlink()
