"""Which committed writes may make a cached read stale, whoever made them.

:class:`ChangeFeed` watches every statement its engine runs (SQLAlchemy ``after_cursor_execute``)
rather than trusting each service to announce its writes: a new write path (a new service, a
new table read by the checks) invalidates the caches without anyone remembering to. A
statement that inserts, updates or deletes rows maps to topics (:func:`topics_for`):

* tables the hot-path caches never read (access events, the day cache, the evidence log,
  authorisation codes, browser sessions, proofs, consent history) map to nothing;
* ``oauth_token``: a new row maps to nothing (no cache knows it yet); an update or delete (a
  revocation, a refresh rotation) maps to :data:`~consent.invalidation.TOKENS`;
* every other table, including any added later, maps to :data:`~consent.invalidation.ALL`
  (secure by default: an unknown write drops every cache).

Delivery: the topics a transaction touched are given to the subscribers (normally
:meth:`InvalidationBus.deliver`) *after* it committed, when its connection begins again or
returns to the pool, which happens before ``async with db.session()`` exits; a rolled-back
transaction delivers nothing. Delivering before the commit would let a concurrent reader
re-cache the old rows in between. On PostgreSQL each topic is also sent with ``pg_notify``
inside the writing transaction, so other replicas hear of it exactly when, and only if, it
commits (PostgreSQL folds identical notifications of one transaction into one).
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from consent.invalidation import ALL, TOKENS, Fanout, Subscriber

#: The PostgreSQL channel of invalidations; a payload is ``topic origin unix-time``.
CHANNEL = "passerelle_invalidation"

#: Tables no hot-path cache reads: writing them invalidates nothing. Some are written on every
#: request (access events and their evidence leaves, the shared rate buckets and quota slots):
#: left to the default they would empty every cache all the time.
UNCACHED_TABLES = frozenset({
    "access_event", "upstream_cache_day", "oauth_code", "browser_session", "consent_event",
    "mandate_event", "proof_document", "consent_proof", "mandate_proof", "alembic_version",
    "evidence_log_head", "evidence_log_entry", "evidence_log_node", "evidence_checkpoint",
    "evidence_signing_key", "throttle_attempt", "rate_bucket", "quota_slot", "upstream_token",
    "staff_action", "staff_token", "auditor_token", "password_reset", "external_identity",
    "oauth_answer", "access_count",
})

_DML = re.compile(r'\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([A-Za-z_][A-Za-z0-9_]*)',
                  re.IGNORECASE)
_TOUCHED = "passerelle.touched"  # topics written in the open transaction
_NOTIFIED = "passerelle.notified"  # topics already NOTIFY'd in it (PostgreSQL)
_COMMITTED = "passerelle.committed"  # topics of a commit, delivered on the next use/check-in


def topics_for(table: str, verb: str) -> frozenset[str]:
    """The topics a ``verb`` (``insert``/``update``/``delete``) on ``table`` invalidates."""
    table = table.lower()
    if table in UNCACHED_TABLES:
        return frozenset()
    if table == "oauth_token":
        return frozenset() if verb == "insert" else frozenset({TOKENS})
    return frozenset({ALL})


def statement_topics(statement: str) -> frozenset[str]:
    """The topics of one SQL statement (none for a read)."""
    match = _DML.match(statement)
    if match is None:
        return frozenset()
    return topics_for(match.group(2), match.group(1).split()[0].lower())


class ChangeFeed:
    """Watches one engine's writes; see the module docstring. Built by :class:`Database`."""

    def __init__(self, engine: Engine) -> None:
        self.origin = uuid.uuid4().hex[:12]  # tells this engine's own NOTIFYs apart
        self._subscribers = Fanout()
        self._notify = engine.dialect.name == "postgresql"
        # No "rollback" listener: a connection being rolled back after an error may refuse
        # access to its info; each "begin" forgets what an earlier transaction touched.
        event.listen(engine, "after_cursor_execute", self._executed)
        event.listen(engine, "commit", self._committing)
        event.listen(engine, "rollback_savepoint", self._savepoint_rolled_back)
        event.listen(engine, "begin", self._begun)
        event.listen(engine.pool, "checkin", self._checked_in)

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber(topic)`` after each commit that wrote ``topic``."""
        self._subscribers.subscribe(subscriber)

    def payload(self, topic: str) -> str:
        """The ``NOTIFY`` payload of ``topic`` from this feed, stamped with the time sent."""
        return f"{topic} {self.origin} {time.time():.6f}"

    def _executed(self, conn: Connection, cursor: Any, statement: str, parameters: Any,
                  context: Any, executemany: bool) -> None:
        topics = statement_topics(statement)
        if not topics:
            return
        conn.info.setdefault(_TOUCHED, set()).update(topics)
        if self._notify:
            notified: set[str] = conn.info.setdefault(_NOTIFIED, set())
            for topic in topics - notified:
                notified.add(topic)
                # Same transaction as the write: delivered if and only if it commits. Topic
                # and origin are our own constants, never user input.
                raw = conn.connection.dbapi_connection
                assert raw is not None
                notify = raw.cursor()
                notify.execute(f"SELECT pg_notify('{CHANNEL}', '{self.payload(topic)}')")
                notify.close()

    def _committing(self, conn: Connection) -> None:
        touched = conn.info.pop(_TOUCHED, None)
        conn.info.pop(_NOTIFIED, None)
        if touched:
            conn.info.setdefault(_COMMITTED, set()).update(touched)

    def _savepoint_rolled_back(self, conn: Connection, name: str, context: Any) -> None:
        # The savepoint's NOTIFYs are gone with it: later writes must notify again. What was
        # touched stays touched (delivering too much is harmless, too little is not).
        conn.info.pop(_NOTIFIED, None)

    def _begun(self, conn: Connection) -> None:
        info = conn.info
        info.pop(_TOUCHED, None)  # left by a transaction that rolled back
        info.pop(_NOTIFIED, None)
        self._deliver(info)  # a commit-as-you-go connection used again

    def _checked_in(self, dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            self._deliver(record.info)

    def _deliver(self, info: dict[Any, Any]) -> None:
        committed = info.pop(_COMMITTED, None)
        if committed:
            for topic in sorted(committed):
                self._subscribers.deliver(topic)
