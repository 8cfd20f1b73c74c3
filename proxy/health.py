"""Liveness (``/healthz``) and readiness (``/readyz``) for orchestrators and load balancers.

* ``/healthz`` says the process serves requests. It touches nothing else: an orchestrator
  restarts a replica whose liveness fails, and restarting every replica because the database
  blinked would turn a database incident into a full outage.
* ``/readyz`` says this replica should receive traffic: the database answers within
  :data:`READINESS_TIMEOUT`, its schema is at this code's Alembic head, and this replica can
  sign evidence (:meth:`~consent.evidence.service.Evidence.cannot_sign`). 503 otherwise, with
  the reason. A schema *ahead* of the code (a revision this code does not know) is ready: during
  a rolling upgrade the migration job moves the schema first, and migrations must stay
  backward-compatible for one release (docs/operations.md, "Upgrade"), so the old replicas keep
  serving until they are replaced.

Signing is checked because a replica that cannot sign answers 503 to every consent, mandate
and staff change (each is a signed record, R16, R18) while reads still pass: start-up refuses
such a replica (:mod:`proxy.evidence.setup`), and the same state reached once running (another
replica rotated the signing key under evidence keys this one lacks, its clock went behind the
key's opening) must take it out of rotation too. Only the cause is said (``keys``, ``clock``,
``log``); the detail is logged, not told to an unauthenticated probe. If every replica shares
the fault, all go unready: the same choice start-up makes, since none could record a consent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any, Literal

from aiohttp import web
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from consent.evidence.errors import EvidenceUnavailable, cause_of
from consent.storage import Database, migrate
from proxy.keys import database_key, evidence_key

log = logging.getLogger("passerelle.health")

#: Longest wait for the database before readiness fails (probes time out after a few seconds).
READINESS_TIMEOUT = 2.0

SchemaPosition = Literal["at-head", "ahead", "behind", "empty", "diverged"]


@dataclass(frozen=True)
class SchemaState:
    """Where the database schema stands relative to this code's migrations."""

    position: SchemaPosition
    revision: str | None
    head: str

    @property
    def ready(self) -> bool:
        """True when this code can serve on that schema."""
        return self.position in ("at-head", "ahead")


@cache
def _known_revisions() -> tuple[str, frozenset[str]]:
    """This code's head and every revision it knows (read once: the files do not change)."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    heads = script.get_heads()
    head = heads[0] if len(heads) == 1 else "+".join(sorted(heads))
    return head, frozenset(rev.revision for rev in script.walk_revisions())


def classify(revision: str | None, head: str, known: frozenset[str]) -> SchemaPosition:
    """Place ``revision`` (the database's) against ``head`` (the code's)."""
    if "+" in head:
        return "diverged"  # several heads in the code: a merge revision is missing
    if revision is None:
        return "empty"
    if revision == head:
        return "at-head"
    return "behind" if revision in known else "ahead"


def _schema_state(connection: Connection) -> SchemaState:
    head, known = _known_revisions()
    try:
        revision = migrate.current_revision(connection)
    except Exception:  # several rows in alembic_version: a branched schema
        return SchemaState("diverged", None, head)
    return SchemaState(classify(revision, head, known), revision, head)


async def schema_state(db: Database) -> SchemaState:
    """The database's schema position (raises if the database does not answer)."""
    async with db.engine.connect() as conn:
        return await conn.run_sync(_schema_state)


async def healthz(request: web.Request) -> web.Response:
    """200 while the process serves requests (liveness). ``database`` names the configured
    dialect, read from the URL: no query is made."""
    return web.json_response({"status": "ok", "database": request.app[database_key].dialect})


async def readyz(request: web.Request) -> web.Response:
    """200 when the database answers, the schema suits this code and this replica can sign;
    503 with the reason."""
    db = request.app[database_key]
    problem: EvidenceUnavailable | None = None
    try:
        async with asyncio.timeout(READINESS_TIMEOUT):
            state = await schema_state(db)
            if state.ready:
                problem = await request.app[evidence_key].cannot_sign()
    except Exception:
        return web.json_response({"status": "unavailable", "database": "down"}, status=503)
    body: dict[str, Any] = {"status": "ready" if state.ready else "unavailable",
                            "database": db.dialect, "schema": asdict(state)}
    if problem is not None:
        log.warning("not ready: this replica cannot sign evidence: %s", problem.detail)
        body.update(status="unavailable", evidence=cause_of(problem))
    return web.json_response(body, status=200 if body["status"] == "ready" else 503)
