"""LEDGER_HOME holds the secret, the event store, the gateway state and the mail: the ledger creates it so that
only its owner may enter (0700), and refuses to start on an existing folder others can read, naming it."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.bootstrap import build
from ledger.config import Settings
from ledger.errors import ValidationError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_home_is_created_private(tmp_path: Path) -> None:
    home = tmp_path / "nested" / "home"
    build(Settings.from_env({"LEDGER_HOME": str(home)})).close()
    assert _mode(home) == 0o700
    assert (home / "secret").exists()


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o701, 0o707])
def test_an_existing_home_others_can_enter_is_refused_naming_it(tmp_path: Path, mode: int) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(mode)
    with pytest.raises(ValidationError) as refused:
        build(Settings.from_env({"LEDGER_HOME": str(home)}))
    assert refused.value.code == "home_not_private" and refused.value.field == "LEDGER_HOME"
    assert str(home) in str(refused.value) and "chmod 700" in str(refused.value)
    assert _mode(home) == mode and not (home / "secret").exists()  # nothing written, the mode left alone


def test_a_private_home_is_used(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    build(Settings.from_env({"LEDGER_HOME": str(home)})).close()
    assert (home / "ledger.db").exists()


def test_the_cli_refuses_with_one_line_naming_the_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o755)
    done = subprocess.run([sys.executable, "-m", "ledger", "--json", "account", "open", "ACC1", "--email",
                           "a@example.com"], capture_output=True,
                          text=True, env={"LEDGER_HOME": str(home), "LEDGER_LOG_FORMAT": "json"}, check=False)
    assert done.returncode == 2, done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "home_not_private" and str(home) in error["message"]
