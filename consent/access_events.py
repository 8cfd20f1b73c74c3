"""Access events: one per data request, served or denied, durable before the answer leaves (R16).

An :class:`AccessEvent` says who asked (recipient, consent), for what (point, dataset, window,
resolution), what happened (outcome, rule or reason, HTTP status), what was sent (number of
values, SHA-256 of the exact body bytes) and what it cost upstream (calls made, days served from
the cache). :meth:`AccessEvent.to_json` is a plain JSON form (text, integers and
``None``); the evidence log's leaf is :func:`consent.evidence.access_trail.access_event` of it.

Events go to an :class:`AccessEventSink`. :class:`GroupCommitSink` writes them to the
``access_event`` table with group commit: callers wait for *their* event to be committed, while
every event that arrived during one commit is written by the next one, in one transaction. Under
load that is one commit per batch instead of one per request; alone, an event is committed at
once. Given a :class:`BatchWriter` (``also``), each batch's transaction also appends its events
to the evidence log (:mod:`consent.evidence.access_trail`): one commit makes both durable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlmodel import Field

from consent.event_writers import EventWriter, writer_for
from consent.group_commit import GroupCommit
from consent.models.base import (
    DEFAULT_TENANT,
    TenantScoped,
    instant_field,
    json_list_field,
    time_ordered_id,
)
from consent.storage.database import Database

if TYPE_CHECKING:
    from consent.evidence.access_trail import Missing
    from consent.evidence.layout import CachedAppend

log = logging.getLogger("passerelle.access")


#: The ``rule`` of the one access event that stands for the requests of one client address
#: refused in one minute past the limit of requests naming nobody (no valid token:
#: ``proxy/data/address_limit.py``); its ``values`` is how many it stands for, not values sent.
ADDRESS_LIMIT_RULE = "address limit"


def requests_counted(rule: str | None, values: int | None) -> int:
    """How many requests an access event stands for (R16, counted so by R17's views): one,
    or a summary's ``values`` (:data:`ADDRESS_LIMIT_RULE`)."""
    return values if rule == ADDRESS_LIMIT_RULE and values else 1


class Outcome(StrEnum):
    """How a data request ended."""

    SERVED = "served"  # data sent
    DENIED = "denied"  # a consent rule, the token, or a rate limit said no
    INVALID = "invalid"  # the request itself was malformed
    FAILED = "failed"  # the upstream or Passerelle could not serve it


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """One data request and its answer. Instants are UTC; windows are ``[start, end)``."""

    at: datetime
    request_id: str
    api: str  # "native" or "compat/enedis"
    route: str
    outcome: Outcome
    status: int
    body_sha256: str
    recipient_id: str | None = None
    consent_id: str | None = None
    mandate_id: str | None = None
    point: str | None = None
    dataset: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    resolution: str | None = None
    rule: str | None = None
    reason: str | None = None
    values: int = 0
    upstream_calls: int = 0
    cache_days: int = 0
    upstream: tuple[str, ...] = ()
    tenant_id: str = DEFAULT_TENANT
    id: str = field(default_factory=time_ordered_id)  # the primary key grows at its end
    #: The community whose aggregate this read was one member's part of (R4); in the
    #: evidence leaf only (the row's ``reason`` says it in words), see :data:`_FIELDS`.
    community_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The evidence document: only text, integers and ``None`` (no floats, RFC 8785-safe)."""
        doc = asdict(self)
        for name in ("at", "window_start", "window_end"):
            value = doc[name]
            doc[name] = value.isoformat() if value is not None else None
        doc["outcome"] = self.outcome.value
        doc["upstream"] = list(self.upstream)
        return doc


class AccessEventRow(TenantScoped, table=True):
    """The ``access_event`` table: one row per :class:`AccessEvent`."""

    __tablename__ = "access_event"
    __table_args__ = (sa.Index("ix_access_event_consent_at", "consent_id", "at"),
                      sa.Index("ix_access_event_recipient_at", "recipient_id", "at"),
                      sa.Index("ix_access_event_at", "at"))

    id: str = Field(primary_key=True, max_length=36)
    at: datetime = instant_field()
    request_id: str = Field(max_length=32)
    api: str = Field(max_length=32)
    route: str = Field(max_length=200)
    outcome: str = Field(max_length=16)
    status: int
    body_sha256: str = Field(max_length=64)
    recipient_id: str | None = Field(default=None, max_length=64)
    consent_id: str | None = Field(default=None, max_length=64)
    mandate_id: str | None = Field(default=None, max_length=64)
    point: str | None = Field(default=None, max_length=64)
    dataset: str | None = Field(default=None, max_length=64)
    window_start: datetime | None = instant_field(nullable=True)
    window_end: datetime | None = instant_field(nullable=True)
    resolution: str | None = Field(default=None, max_length=8)
    rule: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=500)
    values: int = 0
    upstream_calls: int = 0
    cache_days: int = 0
    upstream: list[str] = json_list_field()


ACCESS_EVENT_TABLE: sa.Table = AccessEventRow.__table__  # type: ignore[attr-defined]


class AccessEventSink(Protocol):
    """Where access events go. ``append`` returns once the event is durable."""

    async def append(self, event: AccessEvent) -> None:
        """Persist ``event``; raise if it could not be made durable (then serve nothing)."""
        ...


class BatchWriter(Protocol):
    """Something written in the same transaction as each batch of access events (the evidence
    log's leaves, :class:`consent.evidence.access_trail.AccessTrail`)."""

    def write(self, conn: sa.Connection, events: Sequence[AccessEvent]) -> Callable[[], None]:
        """Write for ``events`` inside the batch's transaction on ``conn``; return what to call
        once that transaction has committed. Synchronous (no I/O of its own but ``conn``'s), so
        a writer can run a whole batch in one hop to its database thread."""
        ...

    def plan(self, events: Sequence[AccessEvent]) -> CachedAppend | None:
        """What :meth:`write` would write for ``events``, computed without reading the
        database, or ``None`` if that needs a read. The plan holds only under its own
        condition (:meth:`consent.evidence.log.EvidenceLog.plan_cached`)."""
        ...

    def missing(self, events: Sequence[AccessEvent]) -> Missing | None:
        """What :meth:`plan` needs read first, or ``None`` if only :meth:`write` will do."""
        ...

    def learn(self, missing: Missing, households: dict[str, str | None],
              chain_heads: dict[str, int]) -> None:
        """Take what was read for ``missing`` (a chain head ``-1``: no entry yet)."""
        ...

    def forget(self) -> None:
        """Drop what :meth:`plan` relies on: a plan was refused as stale."""
        ...


class MemorySink:
    """Keeps events in a list: for tests and for the benchmark's bare baseline."""

    def __init__(self) -> None:
        self.events: list[AccessEvent] = []

    async def append(self, event: AccessEvent) -> None:
        self.events.append(event)


#: The fields that are ``access_event`` columns. ``community_id`` is not one: the offline
#: verifier judges a read under a community consent by the evidence leaf (R4), and the row
#: already tells a member read of an aggregate by its route and reason, so the table and its
#: migrations stay as they are.
_FIELDS = tuple(f.name for f in fields(AccessEvent) if f.name != "community_id")


def row_of(event: AccessEvent) -> dict[str, Any]:
    """The ``access_event`` row of ``event`` (no deep copy: every field is immutable)."""
    doc = {name: getattr(event, name) for name in _FIELDS}
    doc["outcome"] = event.outcome.value
    doc["upstream"] = list(event.upstream)
    doc["reason"] = event.reason[:500] if event.reason else event.reason
    return doc


class GroupCommitSink:
    """Writes events in batches, one transaction per batch (:class:`GroupCommit`); see the
    module docstring.

    Start with :meth:`start` (inside the running loop), stop with :meth:`close`, which commits
    what is pending. ``max_batch`` caps one transaction's size. ``also`` writes more in each
    batch's transaction (the evidence log): the events and what it wrote commit together.
    ``writer`` writes one batch (default: the cheapest for the backend and for ``also``,
    :func:`consent.event_writers.writer_for`).
    """

    def __init__(self, db: Database, *, max_batch: int = 1000,
                 also: BatchWriter | None = None, writer: EventWriter | None = None) -> None:
        self.db = db
        self.also = also
        self.writer = (writer if writer is not None
                       else writer_for(db, ACCESS_EVENT_TABLE, also=also))
        self._commits: GroupCommit[AccessEvent] = GroupCommit(
            self.writer.write, max_batch=max_batch, name="access-event-writer")

    @property
    def commits(self) -> int:
        """Transactions committed so far."""
        return self._commits.commits

    @property
    def written(self) -> int:
        """Events made durable so far."""
        return self._commits.written

    def start(self) -> None:
        """Start the writer task."""
        self._commits.start()

    async def append(self, event: AccessEvent) -> None:
        await self._commits.submit(event)

    async def close(self) -> None:
        """Commit what is pending, then stop."""
        await self._commits.close()
        await self.writer.close()
