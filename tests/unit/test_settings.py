"""One configuration: every environment variable is read once, checked, by ``Settings``; a bad value stops the
start with one line naming it (exit 2); the README's configuration table lists exactly the variables read."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from ledger.cli.main import main
from ledger.config import Secret, Settings
from ledger.errors import ValidationError

ROOT = Path(__file__).resolve().parents[2]


class Recording(Mapping[str, str]):
    """An environment that remembers every variable asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values, self.asked = values, set[str]()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def readme_variables() -> set[str]:
    """The variables in the first column of the README's configuration table."""
    text = (ROOT / "README.md").read_text()
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}


def test_the_readme_table_lists_exactly_the_variables_read() -> None:
    for values in ({}, {"LEDGER_STORE": "postgres", "LEDGER_POSTGRES_DSN": "postgresql://db/x", "SMTP_HOST": "m"}):
        environ = Recording(values)
        Settings.from_env(environ)
        assert environ.asked == readme_variables()


@pytest.mark.parametrize(("variable", "value"), [
    ("LEDGER_AGGREGATE_CACHE", "abc"), ("LEDGER_AGGREGATE_CACHE", "-1"), ("LEDGER_GROUP_COMMIT", "yes"),
    ("LEDGER_LOG_FORMAT", "xml"), ("LEDGER_STORE", "mysql"), ("LEDGER_SNAPSHOT_INTERVAL", "0"),
    ("LEDGER_TIMEZONE", "Mars/Olympus"), ("LEDGER_SECRET", "short"), ("LEDGER_NATS_PORT", "70000"),
    ("LEDGER_WORKERS", "emails,email"), ("LEDGER_SCHEDULER", "no"), ("LEDGER_WORKER_ACK_WAIT", "soon"),
    ("LEDGER_WORKER_ACK_WAIT", "0"), ("LEDGER_WORKER_MAX_DELIVER", "1.5"), ("SMTP_PORT", "smtp"),
    ("SMTP_STARTTLS", "true"), ("LEDGER_PORTAL_URL", "portal.example"),
])
def test_a_bad_value_is_refused_naming_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.from_env({variable: value})
    assert refused.value.field == variable and variable in refused.value.message
    assert "\n" not in refused.value.message


def test_values_are_read_into_their_types(tmp_path: Path) -> None:
    settings = Settings.from_env({
        "LEDGER_HOME": str(tmp_path), "LEDGER_GROUP_COMMIT": "1", "LEDGER_AGGREGATE_CACHE": "", "SMTP_HOST": "mx",
        "SMTP_PORT": "587", "SMTP_PASSWORD": "hunter2-hunter2", "SMTP_STARTTLS": "1", "LEDGER_WORKERS": "orders",
        "LEDGER_SCHEDULER": "0", "LEDGER_WORKER_ACK_WAIT": "2.5", "LEDGER_SECRET": "s" * 16, "NATS_URL": "nats://n"})
    assert settings.group_commit and settings.aggregate_cache == 0 and not settings.scheduler
    assert settings.workers == ("orders",) and settings.worker_ack_wait == 2.5 and settings.nats_url == "nats://n"
    assert settings.smtp is not None and (settings.smtp.port, settings.smtp.start_tls) == (587, True)
    assert settings.projections_dir == tmp_path / "projections" and settings.chain_db == tmp_path / "chain.db"
    assert "hunter2" not in repr(settings) and "s" * 16 not in repr(settings)  # secrets never in a log line
    assert settings.secret == Secret("s" * 16)
    defaults = Settings.from_env({})
    assert (defaults.smtp, defaults.secret, defaults.workers) == (None, None, ("emails", "orders", "autopay"))


@pytest.mark.parametrize(("variable", "value", "args"), [
    ("LEDGER_AGGREGATE_CACHE", "abc", ["account", "show", "ACC1"]),
    ("LEDGER_GROUP_COMMIT", "yes", ["account", "open", "ACC1", "--email", "a@example.com"]),
    ("LEDGER_LOG_FORMAT", "xml", ["serve"]),
    ("LEDGER_WORKERS", "emails,email", ["serve"]),
])
def test_the_cli_refuses_a_bad_setting_at_start_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str], variable: str,
                                                           value: str, args: list[str]) -> None:
    monkeypatch.setenv("LEDGER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LEDGER_DB", raising=False)
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr(sys, "argv", ["ledger", *args])
    with pytest.raises(SystemExit) as done:
        main()
    out, err = capsys.readouterr()
    assert done.value.code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and re.match(rf"error: [a-z_]+ \({variable}\): {variable} ", err)
    assert not (tmp_path / "home").exists()  # nothing was started or created


def test_only_the_configuration_module_reads_the_environment() -> None:
    readers = []
    for package in ("ledger", "workers", "replay"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb")
                        and isinstance(node.value, ast.Name) and node.value.id == "os"):
                    readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers and all(reader.startswith("ledger/config.py:") for reader in readers), readers


def test_the_composition_root_builds_the_mailer_workers_and_keeper_from_the_settings(tmp_path: Path) -> None:
    from ledger.adapters.mailers import MaildirMailer, SmtpMailer
    from ledger.bootstrap import build

    smtp = Settings.from_env({"SMTP_HOST": "mx.example", "SMTP_PORT": "2525", "SMTP_USER": "u",
                              "SMTP_PASSWORD": "pw", "SMTP_STARTTLS": "1", "LEDGER_PORTAL_URL": "https://pay.example",
                              "LEDGER_PROJECTIONS_DIR": str(tmp_path / "models"),
                              "LEDGER_CHAIN_DB": str(tmp_path / "kept" / "chain.db")}, home=tmp_path)
    ledger = build(smtp)
    try:
        mailer = ledger.mailer()
        assert isinstance(mailer, SmtpMailer)
        assert (mailer.host, mailer.port, mailer.username, mailer.password, mailer.start_tls) == \
            ("mx.example", 2525, "u", "pw", True)
        emails, orders = ledger.workers(["emails", "orders"])
        assert (emails.name, orders.name) == ("emails", "orders")
        assert getattr(emails, "portal_url", None) == "https://pay.example"
        keeper = ledger.keeper()
        assert keeper.files.folder == tmp_path / "models" and keeper.chain_path == tmp_path / "kept" / "chain.db"
        keeper.close()
    finally:
        ledger.close()
    plain = build(Settings.from_env({}, home=tmp_path / "plain"))
    try:
        maildir = plain.mailer()
        assert isinstance(maildir, MaildirMailer) and maildir.folder == tmp_path / "plain" / "mail"
    finally:
        plain.close()
