"""``passerelle households ...``: the operator's side of the erasure right (GDPR art. 17, R23;
docs/operations.md §6 and §8).

- ``erase HOUSEHOLD_ID --actor NAME [--reason TEXT]`` erases one household (the staff API's
  ``POST /staff/households/{id}/erase`` runs the same service: :mod:`proxy.staff.erasure`)
  (:mod:`consent.services.erasure`): its consents and mandates are withdrawn as signed records
  and their tokens die, every way into its accounts ends, its personal data is replaced by
  tombstones, a ``household.erased`` admin event is logged and the erasure journalled, in one
  transaction. Running it again changes nothing.
- ``erasures export -o FILE`` writes the erasure journal as JSON. A restore rolls the database
  back, journal included, so the journal must be exported after each erasure to a place the
  database backups are not (the register of requests, §8).
- ``reapply-erasures FILE`` (restore step 6, §6): erases again every household of an exported
  journal that the restored database still holds with personal data, and journals it again.

The services are wired as in the server (token revocation, signed records), so the command
needs the instance's evidence keys, like ``passerelle keys``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from consent.clock import SystemClock
from consent.errors import PasserelleError
from consent.evidence.lifecycle import LifecycleRecorder
from consent.evidence.service import Evidence, origin_for
from consent.models import DEFAULT_TENANT, ErasureRecord
from consent.services import ConsentService, MandateService
from consent.services.erasure import ErasureService, evidence_sink
from consent.storage import Database
from consent.tokens import revoke_tokens_of_ended_consent
from proxy.settings import Settings

T = TypeVar("T")

#: The format of an exported journal (``reapply-erasures`` refuses any other).
JOURNAL_FORMAT = "passerelle-erasure-journal/1"


async def _with_service(settings: Settings,
                        work: Callable[[ErasureService], Awaitable[T]]) -> T:
    """Run ``work`` with an erasure service wired like the server's (proxy/oauth/setup.py,
    proxy/evidence/setup.py): ended consents lose their tokens, every change is signed."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(settings.resolved_database_url)
    clock = SystemClock()
    evidence = Evidence.open(db, settings.data_dir, origin=origin_for(settings.issuer),
                             clock=clock)
    try:
        await db.migrate()
        await evidence.open_key()
        recorder = LifecycleRecorder(evidence)
        consents, mandates = ConsentService(db, clock), MandateService(db, clock)
        consents.hooks.listeners += [revoke_tokens_of_ended_consent, recorder.consent_changed]
        mandates.hooks.listeners.append(recorder.mandate_changed)
        return await work(ErasureService(consents, mandates, clock, evidence_sink(evidence)))
    finally:
        await evidence.aclose()
        await db.dispose()


def _erase(args: argparse.Namespace, settings: Settings) -> int:
    async def work(service: ErasureService) -> dict[str, Any]:
        outcome = await service.erase(args.tenant, args.household, actor=f"cli:{args.actor}",
                                      reason=args.reason)
        return outcome.to_json()

    try:
        done = asyncio.run(_with_service(settings, work))
    except PasserelleError as error:
        sys.stderr.write(f"passerelle households erase: {error.detail}\n")
        return 2
    print(json.dumps(done, indent=2))
    if not done["changed"]:
        sys.stderr.write("nothing left to erase (already erased)\n")
    else:
        sys.stderr.write("erased; export the journal now: passerelle households erasures "
                         "export -o FILE (docs/operations.md §8)\n")
    return 0


def _entry_json(row: ErasureRecord) -> dict[str, str]:
    return {"tenant": row.tenant_id, "household_id": row.household_id,
            "erased_at": row.erased_at.isoformat(), "actor": row.actor, "reason": row.reason}


def _export(args: argparse.Namespace, settings: Settings) -> int:
    async def work(service: ErasureService) -> list[ErasureRecord]:
        return await service.journal()

    rows = asyncio.run(_with_service(settings, work))
    text = json.dumps({"format": JOURNAL_FORMAT, "erasures": [_entry_json(r) for r in rows]},
                      indent=2)
    args.output.write_text(text + "\n", encoding="utf-8")
    sys.stderr.write(f"{len(rows)} erasures written to {args.output}\n")
    return 0


def read_journal(path: Path) -> list[ErasureRecord]:
    """The entries of an exported journal; :class:`ValueError` if it is not one."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != JOURNAL_FORMAT:
        raise ValueError(f"{path} is not an erasure journal ({JOURNAL_FORMAT})")
    return [ErasureRecord(tenant_id=e["tenant"], household_id=e["household_id"],
                          erased_at=datetime.fromisoformat(e["erased_at"]), actor=e["actor"],
                          reason=e.get("reason", "")) for e in data["erasures"]]


def _reapply(args: argparse.Namespace, settings: Settings) -> int:
    try:
        entries = read_journal(args.journal)
    except (OSError, ValueError, KeyError, TypeError) as error:
        sys.stderr.write(f"passerelle households reapply-erasures: {error}\n")
        return 2

    async def work(service: ErasureService) -> list[dict[str, Any]]:
        done = await service.reapply(entries, actor=f"cli:{args.actor}")
        return [o.to_json() for o in done]

    done = asyncio.run(_with_service(settings, work))
    print(json.dumps({"journalled": len(entries), "reapplied": done}, indent=2))
    return 0


def add_households_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                            parent: argparse.ArgumentParser,
                            settings_from: Callable[[argparse.Namespace], Settings]) -> None:
    """Register ``households erase``, ``households erasures export`` and
    ``households reapply-erasures``."""
    def bind(func: Callable[[argparse.Namespace, Settings], int],
             ) -> Callable[[argparse.Namespace], int]:
        return lambda args: func(args, settings_from(args))

    households = sub.add_parser("households", help="data-subject rights: erasure (GDPR art. 17)")
    commands = households.add_subparsers(dest="households_command", required=True)
    erase = commands.add_parser("erase", parents=[parent],
                                help="erase a household's personal data (idempotent)")
    erase.add_argument("household", help="the household's party id")
    erase.add_argument("--tenant", default=DEFAULT_TENANT)
    erase.add_argument("--actor", default=getpass.getuser(),
                       help="who carries out the request (logged as cli:ACTOR)")
    erase.add_argument("--reason", default="",
                       help="the request's reference in the register; never the person's name")
    erase.set_defaults(func=bind(_erase))
    erasures = commands.add_parser("erasures", help="the erasure journal")
    erasures_sub = erasures.add_subparsers(dest="erasures_command", required=True)
    export = erasures_sub.add_parser("export", parents=[parent],
                                     help="write the erasure journal as JSON")
    export.add_argument("-o", "--output", type=Path, required=True)
    export.set_defaults(func=bind(_export))
    reapply = commands.add_parser(
        "reapply-erasures", parents=[parent],
        help="after a restore: erase again the households of an exported journal")
    reapply.add_argument("journal", type=Path, help="a file of `erasures export`")
    reapply.add_argument("--actor", default=getpass.getuser())
    reapply.set_defaults(func=bind(_reapply))
