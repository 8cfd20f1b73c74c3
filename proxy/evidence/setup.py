"""Wiring of the evidence subsystem into the application: one ``cleanup_ctx`` and the routes.

:func:`evidence_ctx` runs after the database and the OAuth server's context (which creates the
:class:`~consent.services.ConsentService`) and before the data path's. It opens the instance's
one :class:`~consent.evidence.service.Evidence` (signing keys sealed in the database with the
keyring of ``$PASSERELLE_EVIDENCE_KEYS`` / ``_FILE`` or ``<data dir>/secrets/evidence.keys``,
proof documents under ``<data dir>/documents``), makes sure a signing key exists (so that no
transaction has to create one; if the database is not there yet, the checkpoint task does it
on its first tick), and wires:

- the consent and mandate services' listeners: every change is a signed record, logged in the
  change's own transaction (:mod:`consent.evidence.lifecycle`);
- the access trail the data path's group-commit sink writes in each batch's transaction
  (:mod:`consent.evidence.access_trail`);
- a task issuing a signed checkpoint every ``Settings.evidence_checkpoint_interval`` seconds;
- the retention sweep (R17, :mod:`consent.retention_sweep`), a background sweep named
  ``retention-sweep`` every ``Settings.retention_sweep_interval`` seconds: each run feeds
  ``passerelle_retention_removed_total{step}`` and ``passerelle_retention_sweep_timestamp_seconds``
  and, when it removed something, logs one line and appends a ``retention.sweep`` admin event.

Keys that are no keys, or a replica that cannot sign with the log's current signing key, are
:class:`~proxy.environment.InvalidConfiguration`: the replica refuses to start rather than
answer 503 to every signed write while ``/readyz`` says it is ready. The message names the
cause (:func:`cannot_sign`): a keyring that cannot open the key (a replica given a fresh data
directory but not the instance's ``PASSERELLE_EVIDENCE_KEYS``: it makes a keyring of its own),
a clock behind the one that opened the key, or the evidence log itself. The first start on an
empty database still makes the keyring and the first signing key.

At shutdown the tasks stop and queued appends are written before the database closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict
from functools import partial

from aiohttp import web

from consent.evidence.checkpoints import issue_periodically
from consent.evidence.errors import EvidenceUnavailable, cause_of
from consent.evidence.lifecycle import LifecycleRecorder
from consent.evidence.service import Evidence, origin_for
from consent.retention_sweep import run_retention
from consent.services import MandateService
from consent.storage.database import Database
from proxy.environment import InvalidConfiguration
from proxy.evidence import audit_api
from proxy.keys import (
    access_trail_key,
    clock_key,
    consent_service_key,
    database_key,
    evidence_key,
    mandate_service_key,
    metrics_key,
    settings_key,
)
from proxy.metrics import Metrics
from proxy.sweeps import sweeping

log = logging.getLogger("passerelle.evidence")


async def evidence_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the evidence subsystem and wire it (see the module docstring)."""
    settings, db, clock = app[settings_key], app[database_key], app[clock_key]
    try:
        evidence = Evidence.open(db, settings.data_dir, origin=origin_for(settings.issuer),
                                 clock=clock)
    except EvidenceUnavailable as error:  # PASSERELLE_EVIDENCE_KEYS unreadable or not keys
        raise InvalidConfiguration(f"Evidence keys: {error.detail}") from None
    try:
        await evidence.open_key()
    except EvidenceUnavailable as error:
        # It could sign nothing, so it must not serve, let alone say it is ready.
        raise InvalidConfiguration(cannot_sign(error)) from None
    except Exception:  # the database is down or not migrated yet: liveness must still hold
        log.warning("evidence: no signing key yet; the checkpoint task will open it",
                    exc_info=True)
    app[evidence_key] = evidence
    recorder = LifecycleRecorder(evidence)
    app[consent_service_key].hooks.listeners.append(recorder.consent_changed)
    mandates = MandateService(db, clock)
    mandates.hooks.listeners.append(recorder.mandate_changed)
    app[mandate_service_key] = mandates
    app[access_trail_key] = evidence.access_trail()
    stop = asyncio.Event()
    ticker = asyncio.create_task(
        issue_periodically(evidence.checkpoints, settings.evidence_checkpoint_interval, stop),
        name="evidence-checkpoints")
    try:
        async with sweeping("retention-sweep", partial(sweep_retention, db, evidence,
                                                       app[metrics_key]),
                            settings.retention_sweep_interval, log,
                            "retention: %d usage traces and counts past R17's periods moved "
                            "or deleted (admin event retention.sweep)"):
            yield
    finally:
        stop.set()
        await ticker
        await evidence.aclose()


def cannot_sign(error: EvidenceUnavailable) -> str:
    """The start-up refusal of a replica that cannot sign, naming its cause (:func:`cause_of`)
    and what to do about it."""
    detail = error.detail.rstrip(".")
    cause = cause_of(error)
    if cause == "keys":
        return (f"Evidence keys: the log's signing key cannot be opened ({detail}). Give every "
                "replica the instance's keys: PASSERELLE_EVIDENCE_KEYS or _FILE.")
    if cause == "clock":
        return (f"Evidence signing refused by this replica's clock ({detail}). Set the clock "
                "right (NTP): a key opens at the time of the replica that made it, and each "
                "replica signs at its own.")
    return f"Evidence log: this replica cannot sign a checkpoint ({detail})."


async def sweep_retention(db: Database, evidence: Evidence, metrics: Metrics) -> int:
    """One retention sweep (:func:`~consent.retention_sweep.run_retention`), counted in
    ``metrics``; how many rows it removed."""
    report = await run_retention(db, evidence)
    for step, count in asdict(report.removed).items():
        metrics.child(metrics.retention_removed, step).inc(count)
    metrics.retention_sweep_time.set(evidence.clock.now().timestamp())
    return report.removed.total


def add_audit_routes(app: web.Application) -> None:
    """The audit API (``/audit/v1``), for auditors' bearer tokens only; every error of it is
    problem+json (:func:`audit_api.audit_errors`)."""
    wrap = audit_api.audit_errors
    r = app.router
    r.add_get("/audit/v1/checkpoints/latest", wrap(audit_api.latest_checkpoint),
              name="audit-checkpoint-latest")
    r.add_post("/audit/v1/checkpoints", wrap(audit_api.issue_checkpoint),
               name="audit-checkpoints")
    r.add_get("/audit/v1/keys", wrap(audit_api.keys), name="audit-keys")
    r.add_get("/audit/v1/entries", wrap(audit_api.entries), name="audit-entries")
    r.add_get("/audit/v1/proofs/inclusion", wrap(audit_api.inclusion_proof),
              name="audit-proof-inclusion")
    r.add_get("/audit/v1/proofs/consistency", wrap(audit_api.consistency_proof),
              name="audit-proof-consistency")
    r.add_post("/audit/v1/exports", wrap(audit_api.export), name="audit-exports")
