"""The Maildir mailer used when no SMTP host is configured."""

from __future__ import annotations

import mailbox
from pathlib import Path

import msgspec
import pytest

from ledger.adapters.mailers import MaildirMailer
from ledger.ports.mailer import Email
from workers.emails import portal_link


async def test_maildir_receives_multipart_messages(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()  # an existing, empty folder
    mailer = MaildirMailer(tmp_path / "mail")
    await mailer.send(Email(to="a@example.com", subject="Hi", text="plain", html="<p>html</p>", message_id="e1"))
    box = mailbox.Maildir(str(tmp_path / "mail"), create=False)
    [message] = list(box)
    assert message["To"] == "a@example.com" and message["Message-ID"] == "<e1@ledger>"
    assert message.is_multipart()


async def test_maildir_delivers_each_message_id_once_even_after_it_was_read(tmp_path: Path) -> None:
    mailer = MaildirMailer(tmp_path / "mail")
    first = Email(to="a@example.com", subject="Receipt", text="t", html="<p>t</p>", message_id="event-1")
    await mailer.send(first)
    await mailer.send(first)  # a worker that crashed after the send and before recording it
    box = mailbox.Maildir(str(tmp_path / "mail"), create=False)
    assert len(box) == 1
    [key] = box.keys()
    message = box.get_message(key)
    message.set_subdir("cur")
    message.add_flag("S")
    box[key] = message  # a reader moved it to cur/ with flags
    assert not list((tmp_path / "mail" / "new").iterdir())
    await mailer.send(first)
    await mailer.send(Email(to="a@example.com", subject="Other", text="t", html="t", message_id="event-10"))
    assert sorted(m["Subject"] for m in mailbox.Maildir(str(tmp_path / "mail"), create=False)) == ["Other",
                                                                                                    "Receipt"]
    assert mailer.idempotent and mailer.delivered("event-1") and not mailer.delivered("event-2")


def test_a_message_is_dated_by_its_event() -> None:
    from datetime import UTC, datetime
    from email import message_from_bytes

    from ledger.adapters.mailers import message_bytes

    email = Email(to="a@example.com", subject="s", text="t", html="<p>t</p>", message_id="m1",
                  sent_at=datetime(2026, 9, 1, 14, 0, tzinfo=UTC))
    assert message_from_bytes(message_bytes(email))["Date"] == "Tue, 01 Sep 2026 14:00:00 +0000"


def test_portal_links_encode_every_part() -> None:
    link = portal_link("https://portal.example", "cart", "ACC/1?x#y", "CART-1", "t0k")
    assert link == "https://portal.example/cart/ACC%2F1%3Fx%23y/CART-1/t0k"


def test_files_abandoned_in_tmp_by_a_crashed_writer_are_cleared(tmp_path: Path) -> None:
    import os
    import time

    (tmp_path / "tmp").mkdir()
    old, fresh = tmp_path / "tmp" / "old.123", tmp_path / "tmp" / "fresh.456"
    old.write_text("x")
    fresh.write_text("y")
    two_days_ago = time.time() - 48 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    MaildirMailer(tmp_path)
    assert not old.exists() and fresh.exists()  # another writer may be writing this one now


def test_a_message_reads_back_as_the_email_it_was_built_from() -> None:
    """What a mail reader (the default policy) decodes: every header and both parts, not ASCII ones included;
    a long line and CRLF-sensitive text survive, as they did when the message was an ``EmailMessage``."""
    from datetime import UTC, datetime
    from email import message_from_bytes, policy

    from ledger.adapters.mailers import message_bytes

    text = "Zoë paid 9,00 € on ACC-1.\n" + "x" * 1200 + "\nend\n"
    email = Email(to="Zoë Ångström <zoe@example.com>", subject="Paiement reçu : 9,00 € " + "long " * 30,
                  text=text, html="<p>Zoë — 9,00 €</p>\n", message_id="ev-1", sender="Ledger <ledger@example.com>",
                  sent_at=datetime(2026, 9, 1, 14, 0, tzinfo=UTC))
    for written in (message_bytes(email), message_bytes(email, linesep="\r\n")):
        read = message_from_bytes(written, policy=policy.default)
        assert not read.defects and read.get_content_type() == "multipart/alternative"
        assert (read["From"], read["To"], read["Subject"]) == (email.sender, email.to, email.subject)
        assert (read["Message-ID"], read["Date"]) == ("<ev-1@ledger>", "Tue, 01 Sep 2026 14:00:00 +0000")
        plain, html = (read.get_body((kind,)) for kind in ("plain", "html"))
        assert plain is not None and html is not None
        assert plain.get_content() == text and html.get_content() == email.html
    crlf = message_bytes(email, linesep="\r\n")
    assert b"\r\n" not in message_bytes(email) and crlf.count(b"\n") == crlf.count(b"\r\n")
    for header in ("to", "subject", "sender"):  # no header can be smuggled in through a line break
        with pytest.raises(ValueError):
            message_bytes(msgspec.structs.replace(email, **{header: "x\r\nBcc: eve@example.com"}))


@pytest.mark.parametrize("text", ["Pay here:\nhttp://127.0.0.1:8080/portal/pay?account=ACC1&x=1\n",
                                  "no newline at the end", "two\n\nblank lines\n\n"])
def test_an_ascii_part_is_written_as_it_reads(text: str) -> None:
    """Someone reading the Maildir file sees the text and its links as they are (7bit), and a mail reader reads
    back exactly the text; a line that could pass for a boundary, a carriage return or a line over 998 characters
    makes the part base64 instead."""
    from email import message_from_bytes, policy

    from ledger.adapters.mailers import message_bytes

    email = Email(to="a@example.com", subject="Hi", text=text, html="<p>html</p>", message_id="ev-2")
    written = message_bytes(email)
    assert b"Content-Transfer-Encoding: 7bit\n\n" + text.encode() in written
    plain = message_from_bytes(written, policy=policy.default).get_body(("plain",))
    assert plain is not None and plain.get_content() == text
    for awkward in ("--=_ledger_" + "0" * 40 + "\nhi", "a\r\nb", "x" * 999):
        written = message_bytes(msgspec.structs.replace(email, text=awkward))
        assert written.count(b"Content-Transfer-Encoding: base64") == 1 and awkward.encode() not in written
        plain = message_from_bytes(written, policy=policy.default).get_body(("plain",))
        assert plain is not None and plain.get_content() == awkward
