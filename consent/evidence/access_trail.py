"""Every data access, served or not, becomes a leaf of the evidence log in the same transaction
as its ``access_event`` row (R16; issue 4's "durable before the response is sent").

:class:`AccessTrail` is the :class:`~consent.access_events.BatchWriter` the data path's
group-commit sink runs inside each batch's transaction: one commit makes both the rows and the
leaves durable, so the hot path pays one more statement group per *batch*, not one more
transaction per request. The leaves name the household (the consent's grantor, or the
mandator of the mandate a read was made under; looked up once and remembered: it never changes),
so a household's bundle holds every access to its data (GDPR art. 15). Once the households
and the log's frontier are known, :meth:`AccessTrail.plan` lays a batch's leaves out without
reading the database, for a writer that sends rows and leaves in one statement
(:class:`~consent.pg_batch_writer.PostgresBatchWriter`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from consent.access_events import AccessEvent as DataAccess
from consent.evidence.events import AccessEvent, consent_chain, mandate_chain
from consent.evidence.layout import CachedAppend
from consent.evidence.log import EvidenceLog
from consent.models import Consent, Mandate

_CONSENT: sa.Table = Consent.__table__  # type: ignore[attr-defined]
_MANDATE: sa.Table = Mandate.__table__  # type: ignore[attr-defined]
_MAX_REMEMBERED = 100_000


def access_event(event: DataAccess, household_id: str | None) -> AccessEvent:
    """The evidence form of one data-path access event."""
    return AccessEvent(
        at=event.at, tenant=event.tenant_id, outcome=event.outcome.value,
        recipient_id=event.recipient_id, point=event.point, dataset=event.dataset,
        window_start=event.window_start, window_end=event.window_end,
        consent_id=event.consent_id, household_id=household_id, mandate_id=event.mandate_id,
        resolution=event.resolution, rule=event.rule, reason=event.reason,
        request_id=event.request_id or None, api=event.api, route=event.route,
        status=event.status, values=event.values, body_sha256=event.body_sha256,
        upstream_calls=event.upstream_calls, cache_days=event.cache_days,
        upstream=tuple(event.upstream), community_id=event.community_id)


def chain_of(event: DataAccess) -> str | None:
    """The evidence chain an access joins (its consent's, else its mandate's)."""
    if event.consent_id:
        return consent_chain(event.consent_id)
    return mandate_chain(event.mandate_id) if event.mandate_id else None


@dataclass(frozen=True, slots=True)
class Missing:
    """What an :class:`AccessTrail` must learn before it can plan a batch: the households of
    ``consents`` (their grantors) and ``mandates`` (their mandators), the heads of ``chains``;
    ``frontier`` marks the log's cached frontier they were found missing on (chain heads read
    are learnt only onto that one: :meth:`EvidenceLog.learn_chains`)."""

    consents: list[str]
    mandates: list[str]
    chains: list[str]
    frontier: object = None


def _owners(events: Sequence[DataAccess]) -> tuple[set[str], set[str]]:
    """The consents of ``events``, and the mandates of those made under a mandate alone: whose
    household each leaf names (:meth:`AccessTrail._household_of`)."""
    return ({e.consent_id for e in events if e.consent_id},
            {e.mandate_id for e in events if e.mandate_id and not e.consent_id})


class AccessTrail:
    """Appends a batch of access events to the evidence log on the batch's connection."""

    def __init__(self, log: EvidenceLog) -> None:
        self.log = log
        self._households: dict[str, str | None] = {}

    def write(self, conn: sa.Connection, events: Sequence[DataAccess]) -> Callable[[], None]:
        """Stage the leaves of ``events`` in ``conn``'s transaction; return what to call once
        it has committed (on the event loop's thread). Synchronous: the batch writer runs it on
        its own thread, or under ``AsyncConnection.run_sync``."""
        consents, mandates = _owners(events)
        self._learn(conn, _CONSENT, _CONSENT.c.grantor_id, consents)
        self._learn(conn, _MANDATE, _MANDATE.c.mandator_id, mandates)
        staged = self.log.append_in_sync(conn, [
            access_event(e, self._household_of(e)).to_log_event() for e in events])
        return staged.committed

    def plan(self, events: Sequence[DataAccess]) -> CachedAppend | None:
        """The leaves of ``events`` laid out without reading the database
        (:meth:`EvidenceLog.plan_cached`), or ``None`` if a household, the frontier or a
        chain head is not known here yet: :meth:`missing` then says what to read first, or
        that only :meth:`write` inside a transaction will do."""
        consents, mandates = _owners(events)
        if any(owner not in self._households for owner in consents | mandates):
            return None
        return self.log.plan_cached([
            access_event(e, self._household_of(e)).to_log_event() for e in events])

    def missing(self, events: Sequence[DataAccess]) -> Missing | None:
        """What :meth:`plan` lacks for ``events``: the consents and mandates whose household
        is not remembered, the chains whose head is not cached; ``None`` if the log's frontier
        is not cached either (then only :meth:`write` in a transaction will do)."""
        chains = self.log.unknown_chains({c for e in events if (c := chain_of(e)) is not None})
        if chains is None:
            return None
        consents, mandates = _owners(events)
        return Missing(sorted(consents - self._households.keys()),
                       sorted(mandates - self._households.keys()), sorted(chains),
                       self.log.frontier_mark())

    def learn(self, missing: Missing, households: dict[str, str | None],
              chain_heads: dict[str, int]) -> None:
        """Remember what a lookup for ``missing`` found (households never change; chain heads
        only if the log's frontier has not changed since)."""
        self._remember(households)
        self.log.learn_chains(chain_heads, frontier=missing.frontier)

    def forget(self) -> None:
        """Drop the log's cached frontier and chain heads: a plan was refused as stale."""
        self.log.forget()

    def _household_of(self, event: DataAccess) -> str | None:
        owner = event.consent_id or event.mandate_id
        return self._households.get(owner) if owner else None

    def _learn(self, conn: sa.Connection, table: sa.Table, household: sa.Column[Any],
               ids: set[str]) -> None:
        """Remember the household of each consent (its grantor) or mandate (its mandator)."""
        missing = [i for i in ids if i not in self._households]
        if not missing:
            return
        rows = conn.execute(sa.select(table.c.id, household.label("household"))
                            .where(table.c.id.in_(missing)))
        found = {row.id: row.household for row in rows}
        self._remember({i: found.get(i) for i in missing})  # unknown ids too

    def _remember(self, households: dict[str, str | None]) -> None:
        """Add ``households`` to what is remembered, starting afresh past the bound."""
        if len(self._households) + len(households) > _MAX_REMEMBERED:
            self._households.clear()
        self._households.update(households)
