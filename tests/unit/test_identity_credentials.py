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
