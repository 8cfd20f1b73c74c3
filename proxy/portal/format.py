"""Dates, numbers and energies written the way each language writes them.

French: ``22 nov. 2026``, ``22/11/2026 10:05``, ``1 234,5 kWh`` (narrow no-break space between
thousands, decimal comma); English: ``22 Nov 2026``, ``22 Nov 2026 10:05``, ``1,234.5 kWh``.
Instants are shown in the household's local time (:data:`DEFAULT_ZONE` unless a point's own
zone is given), always with the zone's abbreviation in machine-readable ``<time>`` elements.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from proxy.web.lang import Lang

DEFAULT_ZONE = ZoneInfo("Europe/Paris")

_MONTHS: dict[Lang, tuple[str, ...]] = {
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
           "nov.", "déc."),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
_MONTH_NAMES: dict[Lang, tuple[str, ...]] = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
_NARROW_NBSP = "\u202f"


class Formatter:
    """Formatting helpers for one language, handed to templates as ``fmt``."""

    def __init__(self, lang: Lang, zone: ZoneInfo = DEFAULT_ZONE) -> None:
        self.lang = lang
        self.zone = zone

    def day(self, value: date | datetime | None) -> str:
        """``22 nov. 2026`` / ``22 Nov 2026``; empty for ``None``."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return f"{value.day} {_MONTHS[self.lang][value.month - 1]} {value.year}"

    def instant(self, value: datetime | None) -> str:
        """The day and the local time to the minute."""
        if value is None:
            return ""
        local = value.astimezone(self.zone)
        return f"{self.day(local)} {local:%H:%M}"

    def iso(self, value: datetime | date | None) -> str:
        """ISO 8601 for the ``datetime`` attribute of ``<time>``."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.astimezone(self.zone).isoformat(timespec="minutes")
        return value.isoformat()

    def through(self, end: datetime | None) -> str:
        """The last day a period ending (exclusively) at ``end`` includes, written for people:
        ``[14 nov., 21 nov.)`` is shown "14 nov. → 20 nov."."""
        if end is None:
            return ""
        return self.day(end.astimezone(self.zone) - timedelta(microseconds=1))

    def last_day(self, end: datetime) -> str:
        """The last local day a period ending (exclusively) at ``end`` includes, ISO 8601."""
        return (end.astimezone(self.zone) - timedelta(microseconds=1)).date().isoformat()

    def month(self, year: int, month: int) -> str:
        """``novembre 2026`` / ``November 2026``."""
        return f"{_MONTH_NAMES[self.lang][month - 1]} {year}"

    def short_month(self, year: int, month: int) -> str:
        """``nov. 26`` / ``Nov 26`` (chart axes)."""
        return f"{_MONTHS[self.lang][month - 1]} {year % 100:02d}"

    def number(self, value: Decimal | float | int, decimals: int = 0) -> str:
        """A number with the language's separators."""
        text = f"{value:,.{decimals}f}"
        if self.lang == "fr":
            text = text.replace(",", _NARROW_NBSP).replace(".", ",")
        return text

    def size(self, size: int) -> str:
        """A file size: bytes below 1 KiB, else KiB or MiB."""
        if size < 1024:
            return f"{size}\u00a0{'octets' if self.lang == 'fr' else 'bytes'}"
        if size < 1024 * 1024:
            return f"{self.number(size / 1024, 0)}\u00a0{'Kio' if self.lang == 'fr' else 'KiB'}"
        return f"{self.number(size / 1024 / 1024, 1)}\u00a0{'Mio' if self.lang == 'fr' else 'MiB'}"

    def kwh(self, wh: Decimal | float | int) -> str:
        """Watt-hours written as kilowatt-hours (one decimal below 100 kWh, none for 0)."""
        kwh = Decimal(wh) / 1000
        return f"{self.number(kwh, 1 if 0 < abs(kwh) < 100 else 0)}\u00a0kWh"
