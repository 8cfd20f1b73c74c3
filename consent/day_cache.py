"""A cache of past, complete days of meter data, encrypted at rest (R22), shared by recipients.

One row per (point, dataset, native resolution, local day) holds that day's readings as JSON,
sealed with AES-256-GCM (:mod:`cryptography`). The associated data binds a ciphertext to its
row, so a row copied onto another key does not decrypt. The point is stored pseudonymised
(HMAC-SHA256 under a key derived from the same secret): the cache alone tells nobody which
meter a row belongs to.

Only *complete*, *settled* days that have *ended* are stored (:func:`complete_days`): a day the
DSO has not published yet, one with a gap, one holding an estimate (which the DSO replaces by a
reading later: GRDF's "Estimé"), or a month or year still running is fetched again next time. Raw
values are stored: they are the DSO's normal answer for past days, and caching nothing but
validated data would fetch almost every day again. Where they are provisional (GRDF
"Provisoire", replaced by "Définitive" when the meter's reading is published; Enedis 2026's
"BRUT", replaced by "BEST" once corrected, at a delay no public material gives), a day holding
one is served from here for :data:`PROVISIONAL_TTL` only, then fetched again, so a recipient
sees the published or corrected value at most that late while apps polling the same morning
still share one call; a day that comes back validated is kept for good. A row that does not
open, or opens to something that is not a day's readings, is a miss.

A *gap*, a settled day (ended :data:`GAP_SETTLED` ago) for which the DSO answered with no value
at all (the meter did not communicate, the load curve is off), is stored as a day without
readings and served as such for :data:`GAP_TTL`: polling apps would otherwise ask for it on
every request. It is asked for again after that, since DSOs publish late data for such days
(a Linky that did not communicate for a week sends it when it comes back).

A day is never
served from here before the consent checks have passed: the cache sits behind the policy, not
beside it. Rows are dropped by :meth:`DayCache.purge` once no active consent needs their point
and dataset any more.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from base64 import b64decode
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlmodel import Field, SQLModel

from consent.aggregation import bucket
from consent.identifiers import PointRef
from consent.models.base import DEFAULT_TENANT, instant_field
from consent.periods import local_midnight
from consent.readings import Quality, Reading
from consent.secret_files import read_or_create
from consent.storage import Database
from consent.vocabulary import Dataset, Resolution

#: How long a day holding provisional raw values is served from the cache (module docstring).
PROVISIONAL_TTL = timedelta(hours=6)
#: How long a day the DSO had no value for is remembered as such, and how long after its end
#: an empty day counts as a gap rather than one not published yet (module docstring).
GAP_TTL = timedelta(hours=6)
GAP_SETTLED = timedelta(days=2)

KEY_ENV = "PASSERELLE_CACHE_KEY"
KEY_FILE = "cache.key"
NONCE_BYTES = 12


class CachedDay(SQLModel, table=True):
    """The ``upstream_cache_day`` table: one sealed day of one dataset of one point.

    ``point_key`` pseudonymises the tenant and the point together, so two tenants holding the
    same meter never share a row (R24).
    """

    __tablename__ = "upstream_cache_day"

    point_key: str = Field(primary_key=True, max_length=64)
    dataset: str = Field(primary_key=True, max_length=64)
    resolution: str = Field(primary_key=True, max_length=8)
    day: str = Field(primary_key=True, max_length=10)
    sealed: bytes = Field(sa_type=sa.LargeBinary)
    stored_at: datetime = instant_field()


_TABLE: sa.Table = CachedDay.__table__  # type: ignore[attr-defined]


def load_cache_secret(data_dir: Path) -> bytes:
    """The 32-byte cache secret: ``$PASSERELLE_CACHE_KEY`` (base64) or ``data_dir/cache.key``.

    The file is created with mode 0600 on first use. Losing it only empties the cache.
    ``ValueError`` (showing no key) if the variable is not base64 or either is not 32 bytes.
    """
    env = os.environ.get(KEY_ENV)
    if env:
        try:
            secret = b64decode(env.strip(), validate=True)
        except ValueError:
            secret = b""
        if len(secret) != 32:
            raise ValueError(f"{KEY_ENV} must be 32 bytes, base64-encoded "
                             "(openssl rand -base64 32)")
        return secret
    path = data_dir / KEY_FILE
    secret = read_or_create(path, lambda: secrets.token_bytes(32))
    if len(secret) != 32:
        raise ValueError(f"{path} must hold exactly 32 bytes")
    return secret


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"passerelle cache " + purpose).derive(secret)


def complete_days(readings: Iterable[Reading], resolution: Resolution, tz: ZoneInfo,
                  now: datetime) -> dict[date, tuple[Reading, ...]]:
    """The local days, ended before ``now``, whose readings (by start) cover them fully and
    are settled: none an estimate, none ending after ``now`` (a month still running).

    A daily reading is a full day on its own (a gas day starting 06:00 belongs to its date);
    finer readings must tile the day from local midnight to the next without a gap.
    """
    by_day: dict[date, list[Reading]] = {}
    for r in readings:
        by_day.setdefault(r.start.astimezone(tz).date(), []).append(r)
    complete: dict[date, tuple[Reading, ...]] = {}
    for day, members in by_day.items():
        start, end = bucket(members[0].start, Resolution.P1D, tz)
        if end > now or any(r.quality is Quality.ESTIMATED or r.end > now for r in members):
            continue
        if resolution.is_calendar:
            if len(members) == 1:
                complete[day] = tuple(members)
            continue
        cursor = start
        for r in members:
            if r.start.astimezone(UTC) != cursor:
                break
            cursor = r.end.astimezone(UTC)
        else:
            if cursor == end:
                complete[day] = tuple(members)
    return complete


def gap_days(days: Iterable[date], readings: Iterable[Reading], tz: ZoneInfo,
             now: datetime) -> dict[date, tuple[Reading, ...]]:
    """Those of ``days`` (a DSO call's) on which no reading starts, ended :data:`GAP_SETTLED`
    before ``now``: gaps to remember (module docstring), as days without readings."""
    had = {r.start.astimezone(tz).date() for r in readings}
    return {day: () for day in days if day not in had
            and local_midnight(day + timedelta(days=1), tz) + GAP_SETTLED <= now}


class DayCache:
    """Sealed days in the database; see the module docstring."""

    def __init__(self, db: Database, secret: bytes) -> None:
        self.db = db
        self._aead = AESGCM(_derive(secret, b"aead"))
        self._mac = _derive(secret, b"point")
        self.hits = 0
        self.stores = 0

    def point_key(self, point: PointRef, tenant: str = DEFAULT_TENANT) -> str:
        """The pseudonym of ``point`` of ``tenant`` in the cache table."""
        return hmac.new(self._mac, f"{tenant}|{point}".encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def _aad(point_key: str, dataset: Dataset, resolution: Resolution, day: date) -> bytes:
        return f"{point_key}|{dataset.value}|{resolution.value}|{day.isoformat()}".encode()

    async def get(self, point: PointRef, dataset: Dataset, resolution: Resolution,
                  days: Iterable[date], tz: ZoneInfo, *, tenant: str = DEFAULT_TENANT,
                  raw_since: datetime | None = None,
                  gaps_since: datetime | None = None) -> dict[date, tuple[Reading, ...]]:
        """The cached ones among ``days``; a row that fails to open or to decode is ignored
        (refetched). With ``raw_since``, a day holding a raw value and stored before then is
        ignored too (provisional raw values: the module docstring). A gap (a day without
        readings) is one only if stored at or after ``gaps_since`` (never without it)."""
        wanted = sorted(set(days))
        if not wanted:
            return {}
        key = self.point_key(point, tenant)
        table = _TABLE
        query = sa.select(table.c.day, table.c.sealed, table.c.stored_at).where(
            table.c.point_key == key, table.c.dataset == dataset.value,
            table.c.resolution == resolution.value,
            table.c.day.between(wanted[0].isoformat(), wanted[-1].isoformat()))
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        found: dict[date, tuple[Reading, ...]] = {}
        want = set(wanted)
        for text_day, sealed, stored_at in rows:
            day = date.fromisoformat(text_day)
            if day not in want:
                continue
            try:
                plain = self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:],
                                           self._aad(key, dataset, resolution, day))
                readings = _decode(plain, tz)
            except Exception:  # noqa: S112 - a foreign or damaged row is simply a miss
                continue
            if not readings:  # a gap: remembered for a while only
                if gaps_since is not None and stored_at >= gaps_since:
                    found[day] = readings
                continue
            if not _is_day(readings, day, tz):
                continue  # opens, but is not this day's readings: a miss as well
            if raw_since is not None and stored_at < raw_since and any(
                    r.quality is Quality.RAW for r in readings):
                continue  # provisional, and old enough that the DSO may have replaced it
            found[day] = readings
        self.hits += len(found)
        return found

    async def put(self, point: PointRef, dataset: Dataset, resolution: Resolution,
                  days: Mapping[date, tuple[Reading, ...]], now: datetime, *,
                  tenant: str = DEFAULT_TENANT) -> None:
        """Store ``days`` (replacing what is there) in one transaction."""
        if not days:
            return
        key = self.point_key(point, tenant)
        table = _TABLE
        rows = []
        for day, readings in days.items():
            nonce = secrets.token_bytes(NONCE_BYTES)
            sealed = nonce + self._aead.encrypt(nonce, _encode(readings),
                                                self._aad(key, dataset, resolution, day))
            rows.append({"point_key": key, "dataset": dataset.value,
                         "resolution": resolution.value, "day": day.isoformat(),
                         "sealed": sealed, "stored_at": now})
        async with self.db.engine.begin() as conn:
            await conn.execute(sa.delete(table).where(
                table.c.point_key == key, table.c.dataset == dataset.value,
                table.c.resolution == resolution.value,
                table.c.day.in_([r["day"] for r in rows])))
            await conn.execute(sa.insert(table), rows)
        self.stores += len(rows)

    async def purge(self, needed: Mapping[tuple[str, PointRef, Dataset], date | None], *,
                    stored_by: datetime | None = None) -> int:
        """Drop rows stored by ``stored_by`` (when ``needed`` was read: a day cached since may be a
        consent's granted after it; ``None``: any) whose (tenant, point, dataset) active consents do
        not need (a load curve goes when only daily values stay needed) and, of those needed, the
        days before the first kept (move-in, three years at most; ``None``: all kept): a count."""
        keep = {(self.point_key(point, tenant), dataset.value): first
                for (tenant, point, dataset), first in needed.items()}
        table = _TABLE
        settled = sa.true() if stored_by is None else table.c.stored_at <= stored_by
        async with self.db.engine.begin() as conn:
            present = (await conn.execute(
                sa.select(table.c.point_key, table.c.dataset, sa.func.min(table.c.day))
                .where(settled).group_by(table.c.point_key, table.c.dataset))).all()
            drop: dict[str, list[str]] = {}  # dataset -> point keys (a dozen datasets at most)
            older: list[dict[str, str]] = []
            for key, dataset, oldest in present:
                if (key, dataset) not in keep:
                    drop.setdefault(dataset, []).append(key)
                elif (first := keep[(key, dataset)]) is not None and oldest < first.isoformat():
                    older.append({"key": key, "dataset": dataset, "first": first.isoformat()})
            removed = 0
            for dataset, keys in drop.items():
                for i in range(0, len(keys), 500):
                    result = await conn.execute(sa.delete(table).where(settled).where(
                        table.c.dataset == dataset, table.c.point_key.in_(keys[i:i + 500])))
                    removed += result.rowcount or 0
            for row in older:  # days are ISO text: their order is the calendar's
                result = await conn.execute(_OLDER.where(settled), row)
                removed += result.rowcount or 0
        return removed


_OLDER = sa.delete(_TABLE).where(
    _TABLE.c.point_key == sa.bindparam("key"), _TABLE.c.dataset == sa.bindparam("dataset"),
    _TABLE.c.day < sa.bindparam("first"))


def _is_day(readings: tuple[Reading, ...], day: date, tz: ZoneInfo) -> bool:
    """True if ``readings`` can be what :func:`complete_days` sealed for ``day``: some, each
    starting on that local day, each a finite value."""
    return bool(readings) and all(r.start.astimezone(tz).date() == day and r.value.is_finite()
                                  for r in readings)


def _encode(readings: Iterable[Reading]) -> bytes:
    return json.dumps([[int(r.start.timestamp()), int(r.end.timestamp()), format(r.value, "f"),
                        r.quality.value] for r in readings],
                      separators=(",", ":")).encode()


def _decode(plain: bytes, tz: ZoneInfo) -> tuple[Reading, ...]:
    return tuple(Reading(datetime.fromtimestamp(start, tz), datetime.fromtimestamp(end, tz),
                         Decimal(value), Quality(quality))
                 for start, end, value, quality in json.loads(plain))
