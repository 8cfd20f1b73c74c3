"""``passerelle keys rotate|reseal``: the evidence keys (docs/operations.md section 5).

``rotate`` opens a new signing key, keeps the old public keys published and logs the rotation
(:meth:`consent.evidence.service.Evidence.rotate_key`). ``reseal`` re-seals the proof documents
and signing keys sealed with an older evidence key under the current one, the last line of the
keys (:mod:`consent.evidence.reseal`), so old lines can be removed; it needs the instance's keys
(``PASSERELLE_EVIDENCE_KEYS(_FILE)`` or the data directory's key file) and never makes one.
It prints per table what it re-sealed, what was already current, what it refused (each refused
row on a line of its own) and what remains under an old key; exit 0 when nothing remains under
a key it was asked to empty, 1 otherwise (a refused row remains until dealt with), 2 for a
``--from-key`` that is the current key. ``--dry-run`` prints the rows per table and key id and
writes nothing (same exit status: 0 when there is nothing to re-seal).
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Callable

from consent.errors import PasserelleError
from consent.evidence.canonical import b64encode
from consent.evidence.reseal import Resealer, render_census
from consent.evidence.secrets import Keyring
from consent.evidence.service import KEYRING_FILE, Evidence
from consent.storage import Database
from proxy.audit_cli import Outcome, evidence_run
from proxy.settings import Settings

_KEK_ID = re.compile(r"kek-[0-9a-f]{8}")


def _kek_id(text: str) -> str:
    if not _KEK_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"not an evidence key id (kek-<8 hex>): {text!r}")
    return text


def _keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    async def rotate(_db: Database, evidence: Evidence) -> str:
        key = await evidence.rotate_key(actor=args.actor)
        return (f"new signing key {key.kid} from {key.not_before.isoformat()}\n"
                f"public key (base64): {b64encode(key.public_key)}\n"
                "old keys stay published (GET /audit/v1/keys); the rotation is logged")

    return evidence_run(settings, rotate, "keys rotate")


def _keys_reseal(args: argparse.Namespace, settings: Settings) -> int:
    try:
        keyring = Keyring.from_environment(settings.data_dir / KEYRING_FILE, create=False)
    except PasserelleError as exc:
        sys.stderr.write(f"passerelle keys reseal: {exc.detail}\n")
        return 1
    if keyring.current in args.from_keys:
        sys.stderr.write(f"passerelle keys reseal: {keyring.current} is the current key (the "
                         "last line of the evidence keys): rows sealed with it stay as they are\n")
        return 2

    async def reseal(db: Database, evidence: Evidence) -> Outcome:
        resealer = Resealer(db, keyring, evidence.log, actor=args.actor,
                            from_keys=args.from_keys, clock=evidence.clock)
        if args.dry_run:
            census = await resealer.census()
            pending = any(resealer.wants(k) for keys in census.values() for k in keys)
            return render_census(census, keyring, resealer.targeted), int(pending)
        report = await resealer.run()
        return report.render(), 0 if report.done else 1

    return evidence_run(settings, reseal, "keys reseal", keyring=keyring)


def add_keys_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                      parent: argparse.ArgumentParser,
                      settings_from: Callable[[argparse.Namespace], Settings]) -> None:
    """Register ``keys rotate`` and ``keys reseal``."""
    operator = f"cli:{getpass.getuser()}"
    keys = sub.add_parser("keys", help="the evidence signing keys and key-encryption keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser("rotate", parents=[parent],
                                 help="open a new signing key; old public keys stay published")
    rotate.add_argument("--actor", default=operator, help="who rotates, as logged")
    rotate.set_defaults(func=lambda args: _keys_rotate(args, settings_from(args)))
    reseal = keys_sub.add_parser(
        "reseal", parents=[parent],
        help="re-seal documents and signing keys under the current evidence key (idempotent)")
    reseal.add_argument("--from-key", dest="from_keys", action="append", type=_kek_id,
                        default=[], metavar="KEK_ID",
                        help="only rows sealed with this key (repeatable; default: every key "
                             "but the current one)")
    reseal.add_argument("--dry-run", action="store_true",
                        help="count rows per key id; write nothing")
    reseal.add_argument("--actor", default=operator, help="who re-seals, as logged")
    reseal.set_defaults(func=lambda args: _keys_reseal(args, settings_from(args)))
