"""Configuration from PASSERELLE_* variables and secrets from PASSERELLE_*_FILE files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from proxy.cli import build_parser, main, settings_from
from proxy.environment import (
    InvalidConfiguration,
    environment_values,
    expand_secret_files,
    settings_from_environment,
)
from proxy.settings import Settings

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
