"""Configuration from the environment, secrets from files (containers, Kubernetes, systemd).

* Every field of :class:`~proxy.settings.Settings` can be set by ``PASSERELLE_<FIELD>``
  (``PASSERELLE_PUBLIC_URL``, ``PASSERELLE_LOG_FORMAT``...), converted to the field's type;
  command-line options win over the environment, the environment over the defaults. Fields
  added later are covered without touching this module.
* Any ``PASSERELLE_<NAME>_FILE`` names a file whose content becomes ``PASSERELLE_<NAME>`` (the
  Docker-secrets convention: ``/run/secrets/...``, a mounted Kubernetes Secret). Setting both
  is an error. So no setting may be called ``*_file``; a test keeps it that way.
* ``PASSERELLE_DATABASE_PASSWORD`` (usually ``_FILE``) is put into the database URL when the URL
  carries none, so the URL itself holds no secret and can live in a ConfigMap.

The full list of variables is in ``docs/operations.md`` ("Configuration reference").
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from consent.errors import PasserelleError
from consent.models.communities import MAX_COMMUNITY_K, MIN_COMMUNITY_K
from consent.storage.database import SQLITE_SYNCHRONOUS
from proxy.settings import DATA_CONNECT_TOKEN_SECONDS, Settings

PREFIX = "PASSERELLE_"
FILE_SUFFIX = "_FILE"
PASSWORD_VAR = PREFIX + "DATABASE_PASSWORD"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class InvalidConfiguration(PasserelleError):
    """The environment or a secret file holds a value Passerelle cannot use; it refuses to
    start rather than run half-configured."""

    code = "invalid-configuration"
    title = "Invalid configuration"


def expand_secret_files(environ: MutableMapping[str, str]) -> list[str]:
    """Replace each ``PASSERELLE_X_FILE`` by ``PASSERELLE_X`` read from that file (one trailing
    newline stripped). Returns the names set. Idempotent."""
    expanded = []
    for name in sorted(environ):
        if not (name.startswith(PREFIX) and name.endswith(FILE_SUFFIX)):
            continue
        target = name[: -len(FILE_SUFFIX)]
        path = Path(environ[name])
        try:
            value = path.read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")
        except OSError as exc:
            raise InvalidConfiguration(f"{name}: cannot read {path}: {exc.strerror}.") from None
        if target in environ and environ[target] != value:
            raise InvalidConfiguration(f"Both {target} and {name} are set; keep one.")
        environ[target] = value
        expanded.append(target)
    return expanded


def _convert(name: str, raw: str, kind: Any) -> object:
    """``raw`` as ``kind`` (str, int, float, bool, Path, or one of them ``| None``)."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in args:
        if raw == "":
            return None
        (kind,) = [a for a in args if a is not type(None)]
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError(raw)
            return lowered in _TRUE
        if kind in (str, int, float, Path):
            return kind(raw)
    except ValueError:
        raise InvalidConfiguration(f"{name}={raw!r} is not a valid {kind.__name__}.") from None
    raise InvalidConfiguration(f"{name} cannot be set from the environment ({kind}).")


#: Fields whose value must lie in ``[low, high]``: a sweep every 0 s would spin on the
#: database; a refresh-token window of a million days overflows every date computed from it;
#: port 70000 would listen on 70000 % 65536; an upstream timeout of 0 is no timeout at all for
#: aiohttp; k = 1 is no aggregate (R4), and a k beyond any community is none either.
_BOUNDS: dict[str, tuple[float, float]] = {
    "port": (1, 65535),
    "access_token_ttl": (1, 3600),
    "compat_access_token_ttl": (1, DATA_CONNECT_TOKEN_SECONDS),
    "refresh_token_idle_days": (1, 3650),
    "cache_purge_interval": (1, 7 * 86400),
    "answer_prune_interval": (1, 7 * 86400),
    "expired_prune_interval": (1, 7 * 86400),
    "evidence_checkpoint_interval": (1, 7 * 86400),
    "retention_sweep_interval": (1, 7 * 86400),
    "telemetry_interval": (1, 86400),
    "check_cache_ttl": (0, 3600),
    "upstream_recipient_share": (0.01, 1),
    "upstream_timeout": (0.1, 600),
    "upstream_max_wait": (0, 600),
    "recipient_rate": (0.01, 1_000_000),
    "recipient_burst": (1, 1_000_000),
    "unauthenticated_rate": (0.01, 1_000_000),
    "unauthenticated_burst": (1, 1_000_000),
    "community_min_members": (MIN_COMMUNITY_K, MAX_COMMUNITY_K),
}

#: Fields holding one of a few words (compared without regard to case).
_CHOICES: dict[str, tuple[str, ...]] = {
    "log_format": ("text", "json"),
    "log_level": ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
    "sqlite_synchronous": SQLITE_SYNCHRONOUS,
    "event_loop": ("uvloop", "asyncio"),
}


def check_value(field: str, value: object, label: str) -> object:
    """``value`` of the settings field ``field`` if within its bounds or choices (the choice
    spelt as listed), else :class:`InvalidConfiguration` naming ``label`` (the variable or
    option that set it)."""
    low, high = _BOUNDS.get(field, (float("-inf"), float("inf")))
    if isinstance(value, int | float) and not isinstance(value, bool) \
            and not low <= value <= high:
        raise InvalidConfiguration(f"{label}={value!r} must lie between {low:g} and {high:g}.")
    choices = _CHOICES.get(field)
    if choices is not None and isinstance(value, str):
        chosen = [c for c in choices if c.lower() == value.strip().lower()]
        if not chosen:
            raise InvalidConfiguration(f"{label}={value!r} is not one of "
                                       f"{', '.join(choices)}.")
        return chosen[0]
    return value


def environment_values(environ: Mapping[str, str]) -> dict[str, object]:
    """The settings fields that ``environ`` sets, typed and within their bounds."""
    hints = typing.get_type_hints(Settings)
    values: dict[str, object] = {}
    for f in dataclasses.fields(Settings):
        name = PREFIX + f.name.upper()
        if name in environ:
            value = _convert(name, environ[name], hints[f.name])
            values[f.name] = check_value(f.name, value, name)
    return values


def check_public_url(url: str | None) -> None:
    """``PASSERELLE_PUBLIC_URL`` (or ``--public-url``) is an origin: ``https://`` or ``http://``,
    a host, an optional port, at most a trailing ``/``; no path, query, fragment or user info
    (the OAuth issuer identifier and the base of every link are built on it).
    :class:`InvalidConfiguration` otherwise; whether http may serve is :mod:`proxy.issuer`'s."""
    if url is None:
        return
    problem = None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a port outside 0-65535)
    except ValueError:
        problem = "is not a URL"
    else:
        if parts.scheme not in ("https", "http") or not parts.hostname:
            problem = "is not an absolute https URL"
        elif parts.path not in ("", "/") or parts.query or parts.fragment or "#" in url \
                or "?" in url or parts.username is not None or parts.port == 0 \
                or any(not 0x21 <= ord(c) <= 0x7E for c in url):
            problem = "must be an origin only (scheme, host, optional port)"
    if problem:
        shown = "" if "@" in url else f" {url[:200]!r}"  # user info may hold a password
        raise InvalidConfiguration(f"The public URL (PASSERELLE_PUBLIC_URL){shown} {problem}, "
                                   "such as https://passerelle.example.org.")


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` filled in, unless the URL already carries one."""
    parsed = make_url(url)
    if parsed.password:
        return url
    return parsed.set(password=password).render_as_string(hide_password=False)


def settings_from_environment(overrides: Mapping[str, object] | None = None,
                              environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``PASSERELLE_*`` variables of ``environ`` (default ``os.environ``) with
    ``overrides`` (options given on the command line; ``None`` means "not given") on top.
    Every value is checked, overrides included (types, bounds, choices, the public URL's
    form): :class:`InvalidConfiguration` names the first that is not usable."""
    env = os.environ if environ is None else environ
    values = environment_values(env)
    values.update({k: check_value(k, v, "--" + k.replace("_", "-"))
                   for k, v in (overrides or {}).items() if v is not None})
    settings = Settings(**values)  # type: ignore[arg-type]
    check_public_url(settings.public_url)
    password = env.get(PASSWORD_VAR)
    if password:
        url = settings.resolved_database_url
        if url.startswith("sqlite"):
            raise InvalidConfiguration(f"{PASSWORD_VAR} is set but the database is SQLite.")
        settings = dataclasses.replace(settings, database_url=with_password(url, password))
    return settings
