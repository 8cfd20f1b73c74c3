"""Reading the staff API's JSON bodies: clear problem+json errors for missing or mistyped
members (never a 500)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from consent.errors import DomainError
from consent.periods import instant_from_text
from proxy.oauth.registry import json_body


async def decision_body(request: web.Request) -> tuple[str, int | None]:
    """``{"reason": "...", "version": n}``: why (recorded, shown to the household), and the
    version the decider saw (optimistic concurrency; optional)."""
    body = await json_body(request) if request.can_read_body else {}
    reason = body.get("reason", "")
    version = body.get("version")
    if not isinstance(reason, str) or len(reason) > 500:
        raise DomainError("reason is a string of at most 500 characters.", field="reason")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise DomainError("version is an integer.", field="version")
    return reason, version


def texts(body: dict[str, Any], name: str) -> list[str]:
    """A non-empty array of at most 64 strings."""
    value = body.get(name)
    if (not isinstance(value, list) or not value or len(value) > 64
            or not all(isinstance(v, str) for v in value)):
        raise DomainError(f"{name} must be a non-empty array of strings.", field=name)
    return value


def instant(body: dict[str, Any], name: str, *, required: bool = False) -> datetime | None:
    """An RFC 3339 instant with its offset (``None`` if absent and not required), within the
    days :func:`~consent.periods.instant_from_text` accepts."""
    value = body.get(name)
    if value is None and not required:
        return None
    return instant_from_text(value, name)


def text(body: dict[str, Any], name: str, limit: int = 200, *, required: bool = True) -> str:
    """A string of at most ``limit`` characters, stripped (non-empty if required)."""
    value = body.get(name, "" if not required else None)
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise DomainError(f"{name} must be a string of at most {limit} characters.",
                          field=name)
    return value.strip()
