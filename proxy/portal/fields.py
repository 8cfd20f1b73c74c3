"""Server-side validation of the household forms: typed values or a message key per field.

Every parser returns the value or records an error under the field's name in a
:class:`FieldErrors`; templates show ``t(errors[name])`` next to the field (with
``aria-invalid`` and ``aria-describedby``), in the page's language. Domain errors raised later
(:class:`~consent.errors.DomainError` carrying ``field``) are mapped onto the same fields by
:meth:`FieldErrors.from_domain`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from consent.errors import DomainError
from consent.identifiers import PointRef
from consent.numbers import whole_number
from consent.periods import day_from_text
from consent.vocabulary import Dataset, Resolution
from proxy.portal.format import DEFAULT_ZONE
from proxy.web.forms import every, first
from proxy.web.i18n import MESSAGES

T = TypeVar("T")

#: Domain error fields -> the form field that shows them.
_FIELD_OF = {"valid_until": "until", "valid_from": "until", "max_resolution": "resolution",
             "recipient_id": "recipient", "point": "points", "consent": "form",
             "consent_id": "form"}


class FieldErrors(dict[str, str]):
    """Field name -> message key."""

    def add(self, name: str, message_key: str) -> None:
        """Record the first error of ``name``."""
        self.setdefault(name, message_key)

    def from_domain(self, error: DomainError, fallback: str = "form") -> None:
        """Record a domain error under its field (``portal.err.<field>`` or the generic one)."""
        field = str(error.extra.get("field", fallback))
        field = _FIELD_OF.get(field, field)
        reason = error.extra.get("reason") or error.extra.get("rule")
        key = f"portal.err.{field}.{reason}" if reason else f"portal.err.{field}"
        self.add(field, key if key in MESSAGES else "portal.err.generic")


def whole(pairs: list[tuple[str, str]], name: str, errors: FieldErrors, *, low: int,
          high: int) -> int:
    """A whole number within ``[low, high]``."""
    value = whole_number(first(pairs, name).strip())
    if value is None or not low <= value <= high:
        errors.add(name, "portal.err.whole")
        return low
    return value


def day(pairs: list[tuple[str, str]], name: str, errors: FieldErrors) -> date | None:
    """A calendar day ``YYYY-MM-DD`` (what ``<input type="date">`` sends), as strict as
    :meth:`~consent.periods.DayRange.parse` (no week dates, years 1900 to 9000)."""
    try:
        return day_from_text(first(pairs, name).strip(), name)
    except DomainError:
        errors.add(name, "portal.err.date")
        return None


def end_of_day(value: date, zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """The instant a period "until ``value`` included" ends: the next local midnight
    (``value`` comes from :func:`day`, so the next day exists)."""
    return datetime.combine(value + timedelta(days=1), time(), tzinfo=zone)


def points(pairs: list[tuple[str, str]], name: str, allowed: Iterable[PointRef],
           errors: FieldErrors) -> list[PointRef]:
    """Ticked points, each one of ``allowed`` (anything else is an error, never ignored)."""
    return _ticked(pairs, name, {str(p): p for p in allowed}, errors)


def datasets(pairs: list[tuple[str, str]], name: str, allowed: Iterable[Dataset],
             errors: FieldErrors) -> list[Dataset]:
    """Ticked datasets, each one of ``allowed``."""
    return _ticked(pairs, name, {d.value: d for d in allowed}, errors)


def _ticked(pairs: list[tuple[str, str]], name: str, offered: Mapping[str, T],
            errors: FieldErrors) -> list[T]:
    """The ticked values of ``name`` among ``offered``: none ticked, or one not offered (a
    tampered form), is an error (``portal.err.<name>.none``, ``portal.err.<name>``)."""
    chosen = list(dict.fromkeys(every(pairs, name)))
    if not chosen:
        errors.add(name, f"portal.err.{name}.none")
    if any(c not in offered for c in chosen):
        errors.add(name, f"portal.err.{name}")
    return [offered[c] for c in chosen if c in offered]


def resolution(pairs: list[tuple[str, str]], name: str, allowed: Iterable[Resolution],
               errors: FieldErrors) -> Resolution | None:
    """One of ``allowed``; empty means "unchanged" (``None``)."""
    text = first(pairs, name)
    if not text:
        return None
    offered = {r.value: r for r in allowed}
    if text not in offered:
        errors.add(name, "portal.err.resolution")
        return None
    return offered[text]


def version(pairs: list[tuple[str, str]]) -> int | None:
    """The ``version`` the page was rendered with (optimistic concurrency), if sent."""
    return whole_number(first(pairs, "version"), max_digits=9)
