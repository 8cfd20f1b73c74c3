"""``passerelle evidence prune``: the retention sweep (R17) by hand, what every replica of
``passerelle serve`` runs every ``PASSERELLE_RETENTION_SWEEP_INTERVAL`` seconds
(:mod:`consent.retention_sweep`; docs/operations.md, "Background sweeps").

Without options it runs one sweep at the current time and prints what went per step, with the
cut-offs; when something went, the evidence log holds a ``retention.sweep`` admin event whose
actor is ``--actor`` (default ``cli:<user>``). ``--dry-run`` counts what a sweep would remove
and writes nothing (no evidence event either). ``--json`` prints the same figures as one JSON
object (the admin event's ``details``, plus ``dry_run`` and ``logged_at_index``). Safe while
the replicas run: a sweep by hand and theirs only share the work. Exit 0, 1 on an error.
"""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Callable

from consent.evidence.service import Evidence
from consent.retention_sweep import RetentionReport, retention_census, run_retention
from consent.storage import Database
from proxy.audit_cli import evidence_run
from proxy.settings import Settings


def _as_json(report: RetentionReport) -> str:
    return json.dumps({**report.details(), "dry_run": report.dry_run,
                       "logged_at_index": report.logged_at_index}, indent=2)


def _prune(args: argparse.Namespace, settings: Settings) -> int:
    async def sweep(db: Database, evidence: Evidence) -> str:
        if args.dry_run:
            report = await retention_census(db, evidence.clock.now())
        else:
            report = await run_retention(db, evidence, actor=args.actor)
        return _as_json(report) if args.json else report.render()

    return evidence_run(settings, sweep, "evidence prune")


def add_evidence_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                          parent: argparse.ArgumentParser,
                          settings_from: Callable[[argparse.Namespace], Settings]) -> None:
    """Register ``evidence prune``."""
    evidence = sub.add_parser("evidence", help="retention of usage traces (R17)")
    commands = evidence.add_subparsers(dest="evidence_command", required=True)
    prune = commands.add_parser(
        "prune", parents=[parent],
        help="run the retention sweep now: traces past 31 days to weekly counts, weeks past "
             "20 weeks to months, months past 20 months deleted; evidence payloads pruned")
    prune.add_argument("--dry-run", action="store_true",
                       help="only count what a sweep would remove; write nothing")
    prune.add_argument("--actor", default=f"cli:{getpass.getuser()}",
                       help="who runs it, as logged in the admin event (default cli:<user>)")
    prune.add_argument("--json", action="store_true", help="machine-readable output")
    prune.set_defaults(func=lambda args: _prune(args, settings_from(args)))
