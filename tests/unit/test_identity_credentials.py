"""The credentials file (ledger.identity.credentials) is read again whenever it was replaced, even when the new
file has the old one's size and modification time (found by review: a same-size re-issue within the file
system's timestamp granularity kept the revoked password valid in a running ledger)."""

from __future__ import annotations

import os
from pathlib import Path

from ledger.identity.credentials import Credentials


def test_a_replaced_credentials_file_is_read_again_whatever_its_size_and_time(tmp_path: Path) -> None:
    running, operator = Credentials(tmp_path), Credentials(tmp_path)
    old = operator.ensure().issue("portal", "web")
    before = running.path.stat()
    assert running.users()["portal-web"].password == old.password
    new = operator.issue("portal", "web")  # a password of the same length: the same file size
    os.utime(running.path, ns=(before.st_atime_ns, before.st_mtime_ns))  # within the timestamp's granularity
    after = running.path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns) and new != old
    assert running.users()["portal-web"].password == new.password


def test_a_configuration_written_by_an_older_release_takes_this_releases_permissions(tmp_path: Path) -> None:
    credentials = Credentials(tmp_path).ensure()
    credentials.issue("portal", "web")
    current = credentials.config_path.read_text()
    assert "ledger.portal.web.cmd.credit.issue" not in current and "ledger.portal.web.cmd.>" not in current
    older = current.replace('"ledger.portal.web.cmd.payment.submit"', '"ledger.portal.web.cmd.>"')
    credentials.config_path.write_text(older)  # the portal's rights before they were narrowed to a customer's
    users = credentials.path.read_bytes()
    Credentials(tmp_path).ensure()  # serve's start
    assert credentials.config_path.read_text() == current and credentials.path.read_bytes() == users
    assert oct(credentials.config_path.stat().st_mode & 0o777) == "0o600"
