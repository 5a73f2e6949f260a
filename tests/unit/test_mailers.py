"""The Maildir mailer used when no SMTP host is configured."""

from __future__ import annotations

import mailbox
from pathlib import Path

from ledger.adapters.mailers import MaildirMailer
from ledger.ports.mailer import Email


async def test_maildir_receives_multipart_messages(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()  # an existing, empty folder
    mailer = MaildirMailer(tmp_path / "mail")
    await mailer.send(Email(to="a@example.com", subject="Hi", text="plain", html="<p>html</p>", message_id="e1"))
    box = mailbox.Maildir(str(tmp_path / "mail"), create=False)
    [message] = list(box)
    assert message["To"] == "a@example.com" and message["Message-ID"] == "<e1@ledger>"
    assert message.is_multipart()
