"""Logs without personal data: JSON (or text) lines carrying the request id (R16, R22).

What a log line may hold: the time, level, logger, message, the request id, and for access lines
the method, the route *template*, the status, the duration. What it never holds: a metering-point
id (PRM, PCE, EAN), a query string, an ``Authorization`` header, a cookie, a token, a client IP.

Two layers make that true:

* ``proxy.observability.SafeAccessLogger`` replaces aiohttp's access log, whose default format
  prints the request line with its query string, the client address, referrer and user agent.
* :class:`RedactingFilter` scrubs every record of every logger (ours, aiohttp's, SQLAlchemy's,
  tracebacks included) as a safety net: identifiers, bearer tokens, credentials in URLs,
  ``key=value`` secrets and query strings are replaced before any handler formats them.

:func:`configure_logging` installs both on the root logger; ``passerelle serve`` calls it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

#: The id of the request being handled, set by ``request_id_middleware`` (one task per request,
#: so a value never leaks into another request).
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

#: Keys whose value is a secret, in ``key=value`` and in a dict's repr or JSON alike.
_SECRET_KEYS = "|".join((
    "access_token", "refresh_token", "id_token", "client_secret", "password", "passwd", "secret",
    "token", "code_verifier", "assertion", "api_key"))

_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # credentials and tokens first, before the digit patterns cut them in pieces
    (re.compile(r"(?i)\b(bearer|basic|dpop)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    (re.compile(r"(?i)\b(authorization|cookie|set-cookie)([\"']?\s*[:=]\s*)[^\n]+"),
     r"\1\2[redacted]"),
    (re.compile(rf"(?i)\b({_SECRET_KEYS})=[^&\s\"']+"), r"\1=[redacted]"),
    # the same as a dict's repr or JSON (authlib logs "Issue token {'access_token': ...}"):
    # the whole quoted value, escaped quotes included
    (re.compile(rf"(?i)([\"'](?:{_SECRET_KEYS})[\"']\s*:\s*)(\"(?:[^\"\\]|\\.)*\"|"
                r"'(?:[^'\\]|\\.)*')"), r"\1'[redacted]'"),
    # our own secrets carry a prefix (consent/tokens.py) precisely so they can be found
    (re.compile(r"\bpas_[a-z]{2,4}_[A-Za-z0-9_-]+"), "pas_[redacted]"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1[redacted]@"),
    # query strings: the data APIs carry point ids and dates there
    (re.compile(r"(/[^\s?\"']*)\?[^\s\"'#]+"), r"\1?[redacted]"),
    # metering-point identifiers (domain.md): EAN 18 digits, PRM/PCE 14 digits, old PCE GI+6
    (re.compile(r"(?<!\d)\d{18}(?!\d)"), "[point]"),
    (re.compile(r"(?<!\d)\d{14}(?!\d)"), "[point]"),
    (re.compile(r"\bGI\d{6}\b"), "[point]"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
)


#: ``extra=`` fields whose whole value is secret, whatever it looks like.
_SENSITIVE_FIELD = re.compile(r"(?i)authorization|cookie|token|secret|password|credential")


def redact(text: str) -> str:
    """``text`` with identifiers, secrets and query strings replaced by placeholders."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


#: Attributes of every LogRecord; anything else was passed with ``extra=`` and is emitted.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "request_id"}


class RedactingFilter(logging.Filter):
    """Rewrite each record's message (arguments merged) and traceback through :func:`redact`,
    and stamp it with the current request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in vars(record).items():
            if key in _STANDARD or not isinstance(value, str):
                continue
            sensitive = _SENSITIVE_FIELD.search(key) is not None
            setattr(record, key, "[redacted]" if sensitive else redact(value))
        if not getattr(record, "request_id", ""):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, ``request_id``, the
    ``extra=`` fields, and ``exc`` for a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure_logging(fmt: str = "text", level: str = "INFO",
                      stream: TextIO | None = None) -> logging.Handler:
    """Send every logger to ``stream`` (stderr) as ``fmt`` (``json`` or ``text``) lines,
    redacted; replaces handlers installed before. Returns the handler."""
    if fmt not in ("json", "text"):
        raise ValueError(f"log format must be 'json' or 'text', not {fmt!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic announces every migration step at INFO; one line from us says the revision.
    logging.getLogger("alembic.runtime").setLevel(logging.WARNING)
    # Drivers log statements with their parameters (aiosqlite at DEBUG, SQLAlchemy's engine at
    # INFO): token digests, sealed bytes, meter points. Never logged, even at DEBUG.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    # authlib logs each token it issues, whole, at DEBUG ("Issue token %r to %r").
    logging.getLogger("authlib").setLevel(logging.INFO)
    return handler
