"""Configuration from PASSERELLE_* variables and secrets from PASSERELLE_*_FILE files."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from proxy.app import create_app
from proxy.cli import build_parser, main, settings_from
from proxy.environment import (
    InvalidConfiguration,
    environment_values,
    expand_secret_files,
    settings_from_environment,
)
from proxy.issuer import check_issuer
from proxy.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-db-password"


def test_every_settings_field_has_a_variable_of_its_type() -> None:
    env = {"PASSERELLE_PORT": "9000", "PASSERELLE_DEMO": "yes", "PASSERELLE_HOST": "127.0.0.3",
           "PASSERELLE_DATA_DIR": "/var/lib/passerelle", "PASSERELLE_PUBLIC_URL": ""}

    assert environment_values(env) == {"port": 9000, "demo": True, "host": "127.0.0.3",
                                       "data_dir": Path("/var/lib/passerelle"),
                                       "public_url": None}


@pytest.mark.parametrize(("name", "value"), [("PASSERELLE_PORT", "eighty"),
                                             ("PASSERELLE_DEMO", "maybe")])
def test_a_value_of_the_wrong_type_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(InvalidConfiguration, match=name):
        environment_values({name: value})


def test_no_setting_ends_in_file_since_that_suffix_means_a_secret_file() -> None:
    assert [f.name for f in dataclasses.fields(Settings) if f.name.endswith("_file")] == []


def test_command_line_options_win_and_absent_ones_do_not_erase() -> None:
    env = {"PASSERELLE_PORT": "9000", "PASSERELLE_HOST": "127.0.0.3"}

    settings = settings_from_environment({"port": 7000, "host": None}, environ=env)

    assert (settings.port, settings.host) == (7000, "127.0.0.3")


def test_serve_options_default_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_PORT", "9100")
    monkeypatch.setenv("PASSERELLE_LOG_FORMAT", "json")
    args = build_parser().parse_args(["serve", "--host", "127.0.0.2"])

    settings = settings_from(args, host=args.host, port=args.port, demo=args.demo)

    assert (settings.host, settings.port, settings.demo, settings.log_format) == (
        "127.0.0.2", 9100, False, "json")


def test_secret_files_become_variables(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("abc\n")
    env = {"PASSERELLE_METRICS_TOKEN_FILE": str(tmp_path / "token"), "OTHER_FILE": "/nope"}

    assert expand_secret_files(env) == ["PASSERELLE_METRICS_TOKEN"]
    assert env["PASSERELLE_METRICS_TOKEN"] == "abc"
    assert expand_secret_files(env) == ["PASSERELLE_METRICS_TOKEN"]  # idempotent


def test_a_secret_given_twice_differently_or_unreadable_is_refused(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("abc")

    with pytest.raises(InvalidConfiguration, match="keep one"):
        expand_secret_files({"PASSERELLE_X_FILE": str(tmp_path / "token"),
                             "PASSERELLE_X": "other"})
    with pytest.raises(InvalidConfiguration, match="cannot read"):
        expand_secret_files({"PASSERELLE_X_FILE": str(tmp_path / "missing")})


def test_the_database_password_joins_a_url_that_has_none_and_never_shows() -> None:
    env = {"PASSERELLE_DATABASE_URL": "postgresql://passerelle@db:5432/passerelle",
           "PASSERELLE_DATABASE_PASSWORD": PASSWORD, "PASSERELLE_METRICS_TOKEN": PASSWORD}

    settings = settings_from_environment(environ=env)

    assert settings.resolved_database_url == (
        f"postgresql://passerelle:{PASSWORD}@db:5432/passerelle")
    assert PASSWORD not in repr(settings)


def test_a_database_password_for_sqlite_is_a_mistake(tmp_path: Path) -> None:
    env = {"PASSERELLE_DATA_DIR": str(tmp_path), "PASSERELLE_DATABASE_PASSWORD": PASSWORD}

    with pytest.raises(InvalidConfiguration, match="SQLite"):
        settings_from_environment(environ=env)


def test_the_command_refuses_to_start_on_an_unreadable_secret(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PASSERELLE_METRICS_TOKEN_FILE", str(tmp_path / "absent"))

    assert main(["migrate", "--data-dir", str(tmp_path)]) == 2
    assert "PASSERELLE_METRICS_TOKEN_FILE" in capsys.readouterr().err


def test_every_setting_is_in_the_configuration_reference() -> None:
    runbook = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    variables = [f"PASSERELLE_{f.name.upper()}" for f in dataclasses.fields(Settings)]

    missing = [v for v in variables if f"`{v}`" not in runbook]
    assert missing == [], "add these to docs/operations.md, section 3"


@pytest.mark.parametrize(("name", "raw"), [
    ("PASSERELLE_EXPIRED_PRUNE_INTERVAL", "0"), ("PASSERELLE_CACHE_PURGE_INTERVAL", "-5"),
    ("PASSERELLE_REFRESH_TOKEN_IDLE_DAYS", "100000000"), ("PASSERELLE_ACCESS_TOKEN_TTL", "0"),
])
def test_values_out_of_their_bounds_refuse_to_start(name: str, raw: str) -> None:
    with pytest.raises(InvalidConfiguration, match="must lie between"):
        environment_values({name: raw})


@pytest.mark.parametrize(("name", "raw"), [
    ("PASSERELLE_PORT", "70000"),               # aiohttp listened on 70000 % 65536 = 4464
    ("PASSERELLE_PORT", "-1"),
    ("PASSERELLE_UPSTREAM_TIMEOUT", "0"),       # aiohttp ClientTimeout(total=0): no timeout
    ("PASSERELLE_UPSTREAM_TIMEOUT", "-1"),
    ("PASSERELLE_UPSTREAM_MAX_WAIT", "-1"),
    ("PASSERELLE_RECIPIENT_BURST", "0"),
    ("PASSERELLE_RECIPIENT_RATE", "-5"),
    ("PASSERELLE_COMMUNITY_MIN_MEMBERS", "1"),
    ("PASSERELLE_LOG_LEVEL", "verbose"),
    ("PASSERELLE_LOG_FORMAT", "xml"),
    ("PASSERELLE_SQLITE_SYNCHRONOUS", "off"),
    ("PASSERELLE_PUBLIC_URL", "passerelle.example.org"),
    ("PASSERELLE_PUBLIC_URL", "https://passerelle.example.org/base?x=1"),
])
def test_numbers_words_and_the_public_url_are_checked(name: str, raw: str) -> None:
    """Review 15d: these were accepted (no bounds on the port, the upstream timeouts, the
    rate limits or k; no choices for the words; a public URL without scheme or with a path),
    to fail later with a traceback or to run wrong (port 70000 listened on 4464)."""
    with pytest.raises(InvalidConfiguration):
        settings_from_environment(environ={name: raw})


def test_command_line_overrides_are_bounded_too() -> None:
    """Review 15d: ``--port 70000`` skipped the bounds the variable had."""
    with pytest.raises(InvalidConfiguration, match="--port"):
        settings_from_environment({"port": 70000}, environ={})


@pytest.mark.parametrize(("changes", "says"), [
    ({"host": "0.0.0.0"}, "PASSERELLE_PUBLIC_URL"),  # noqa: S104  issuer http://0.0.0.0:8080
    ({"public_url": "http://passerelle.lan:8080"}, "https"),
    ({"host": "192.0.2.7"}, "https"),
])
def test_a_server_needs_an_https_issuer_unless_loopback(changes: dict[str, str],
                                                         says: str) -> None:
    """Review 15d: an http issuer on a public name started, then every token request was a
    500 (authlib's InsecureTransportError); ``--host 0.0.0.0`` gave issuer http://0.0.0.0."""
    with pytest.raises(InvalidConfiguration, match=says):
        check_issuer(Settings(**changes))  # type: ignore[arg-type]
    check_issuer(Settings(host="0.0.0.0", public_url="http://127.0.0.1:8080"))  # noqa: S104
    check_issuer(Settings(public_url="https://passerelle.example.org"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(("name", "raw"), [
    ("PASSERELLE_LOG_LEVEL", "verbose"),
    ("PASSERELLE_SECRET_KEY", "not-hex"),
    ("PASSERELLE_SECRET_KEY", "abcd"),
    ("PASSERELLE_CACHE_KEY", "@@@not-base64"),
    ("PASSERELLE_EVIDENCE_KEYS", "garbage"),
    ("PASSERELLE_COMMUNITY_MIN_MEMBERS", "1"),
    ("PASSERELLE_DATABASE_URL", "postgres://x:pw-in-url@127.0.0.1:1/db?sslmode=require"),
])
def test_a_bad_setting_is_one_line_and_exit_2_not_a_traceback(tmp_path: Path, name: str,
                                                               raw: str) -> None:
    """Review 15d: a bad level, key, k or database URL (asyncpg's TypeError on ``sslmode``,
    then an unreachable server) ended in a traceback with exit status 1; never a secret."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PASSERELLE_DATA_DIR": str(tmp_path),
           name: raw}
    run = subprocess.run([sys.executable, "-m", "proxy", "serve", "--port", str(_free_port())],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr[-400:]
    assert "Traceback" not in run.stderr, run.stderr[-400:]
    assert "pw-in-url" not in run.stderr
    assert "not-hex" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("passerelle: ")


@pytest.mark.parametrize("changes", [
    {"public_url": "https://passerelle.example.org"},  # public passwords on a public instance
    {"host": "0.0.0.0"},  # noqa: S104  was a DomainError traceback (its callback URI)
    {"public_url": "http://passerelle.lan:8080"},
])
def test_the_demo_runs_only_on_a_loopback_issuer(tmp_path: Path,
                                                 changes: dict[str, str]) -> None:
    """Review 15d: the demo (admin/admin-demo-2026...) ran on a public https instance, and
    died with a DomainError traceback on a non-loopback http URL (``serve --demo --host
    0.0.0.0``, the image's host). Both are now one clear refusal that says what to set."""
    settings = Settings(data_dir=tmp_path, demo=True, **changes)  # type: ignore[arg-type]
    with pytest.raises(InvalidConfiguration, match=r"PASSERELLE_PUBLIC_URL=http://127\.0\.0\.1"):
        create_app(settings)
    create_app(Settings(data_dir=tmp_path, demo=True, host="0.0.0.0",  # noqa: S104
                        public_url="http://127.0.0.1:8080"))  # the documented container way


def test_an_ipv6_loopback_listen_address_is_a_loopback_issuer() -> None:
    """``--host ::1`` made the issuer ``http://::1:8080``, whose host no parser finds: the
    start-up check refused it as plain http on a public host."""
    from proxy.issuer import check_issuer
    from proxy.settings import Settings

    settings = Settings(host="::1")
    assert settings.issuer == "http://[::1]:8080"
    check_issuer(settings)  # loopback: no refusal
