"""Offline verifier of Passerelle proof bundles: ``passerelle audit verify bundle.zip`` or
``python -m consent.evidence.verify bundle.zip``.

Needs no server and no database: it imports only the standard library, ``cryptography``,
``rfc8785`` and the pure modules of this package (``canonical``, ``merkle``, ``notes``, ``keys``,
``signing``, ``selection``, ``coverage``, ``summary``, ``verify_*``; a test
enforces it). It checks, and names what is wrong when a check fails (docs/evidence-format.md
§Verification):

1. the key history (key ids are hashes of the keys; periods do not overlap; optionally every key
   is among keys the auditor already trusts);
2. the manifest's signature, and the SHA-256 of every file against the manifest;
3. every checkpoint's signed-note signature, by a key valid when it was issued, and a
   consistency proof from each earlier checkpoint to the anchor; with ``--checkpoint``, that
   each checkpoint the auditor kept from an earlier bundle has the same root as the bundle's of
   its size (:mod:`~consent.evidence.verify_kept`: a different root is a fork of the log);
4. every log entry: leaf format, payload hash, order, selection, chain sequence numbers, and
   that all leaves together reproduce the anchor root (batch inclusion proof);
5. every signed record (signature, key valid at ``signed_at``), record files and documents;
6. that no access was served outside its consent's active period and scope.

Before anything is parsed, the zip's member names, count and sizes are checked against the
documented layout (:mod:`~consent.evidence.verify_members`). The exit code tells the outcome
apart (:mod:`~consent.evidence.verify_report`): 0 valid, 1 integrity failure, 2 usage error, 3
an intact bundle showing an access outside consent, 4 intact but signed by keys nobody vouched
for: without ``--trusted-keys`` a bundle's keys are its own word, and anyone can make a bundle
that checks with its own keys (``--accept-bundle-keys`` accepts them, for testing only).
"""

from __future__ import annotations

import argparse
import sys
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from consent.evidence.canonical import EncodingError
from consent.evidence.keys import KeyHistory, PublicKeyInfo
from consent.evidence.verify_head import HeadChecker, Stop
from consent.evidence.verify_kept import KeptCheckpoint, compare_kept, load_kept
from consent.evidence.verify_log import EntryChecker
from consent.evidence.verify_members import MemberError, Members, strict_json
from consent.evidence.verify_report import EXIT_USAGE, Expectation, Report, UsageError

__all__ = ["Expectation", "Report", "UsageError", "build_parser", "load_trusted", "main",
           "run", "verify_bundle"]

REQUIRED = ("manifest.json", "keys.json", "checkpoints/index.json", "log/entries.tsv",
            "log/inclusion.json", "summary.txt")
#: Largest --trusted-keys file read.
MAX_TRUSTED_KEYS = 16 << 20


def verify_bundle(source: str | Path | IO[bytes], *, expect: Expectation | None = None,
                  trusted: KeyHistory | None = None, accept_bundle_keys: bool = False,
                  kept: Sequence[KeptCheckpoint] = ()) -> Report:
    """Verify a bundle (path or binary file); never raises for a bad bundle.

    Without ``trusted`` keys the report's verdict is "unverified keys" (exit code 4) however
    sound the bundle, unless ``accept_bundle_keys`` (for tests of bundles one made oneself).
    Each ``kept`` checkpoint (:func:`~consent.evidence.verify_kept.load_kept`) must equal the
    bundle's of its size (:func:`~consent.evidence.verify_kept.compare_kept`)."""
    report = Report(str(source) if isinstance(source, str | Path) else "<stream>")
    try:
        bundle = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        report.fail("bundle", f"not a readable zip file ({exc})")
        return report
    with bundle:
        try:
            _run(Members(bundle), report, expect or Expectation(), trusted, accept_bundle_keys,
                 kept)
        except Stop:
            pass
        except MemberError as exc:
            report.fail(exc.where, exc.what)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError,
                RecursionError, NotImplementedError, MemoryError, zlib.error,
                zipfile.BadZipFile, EOFError) as exc:  # a malformed bundle (out-of-range
            # instants, JSON nested past the recursion limit, a broken or unknown
            # compression), never a crash
            report.fail("bundle", f"malformed content stopped the verification ({exc!r:.200})")
    return report


def _run(members: Members, report: Report, expect: Expectation, trusted: KeyHistory | None,
         accept_bundle_keys: bool, kept: Sequence[KeptCheckpoint]) -> None:
    for where, what in members.check():  # such members are never read; the rest is checked
        report.fail(where, what)
    names = members.names
    if len(names) != len(set(names)):
        report.fail("bundle", "the zip holds two members with the same name")
        raise Stop
    missing = [name for name in REQUIRED if name not in members.limits]
    for name in missing:
        if name not in names:
            report.fail(name, "missing from the bundle")
    if missing:
        raise Stop
    head = HeadChecker(members, report, expect, trusted, accept_bundle_keys)
    keys = head.keys()
    manifest = head.manifest(keys)
    head.files(manifest)
    selection = head.selection(manifest)
    anchor, issued_at = head.checkpoints(manifest, keys)
    compare_kept(kept, str(manifest.get("origin")), anchor, head.held, report)
    checker = EntryChecker(members, report, keys, selection, manifest, anchor, issued_at)
    checker.run()
    report.story = checker.story()
    # summary.txt is what a person reads first: it must tell what was verified, word for
    # word, or a re-signed bundle could say "withdrawn" where the records say "active".
    if members.read("summary.txt") != report.story.encode():
        report.fail("summary.txt", "does not tell what the bundle proves: it differs from the "
                                   "summary regenerated from the verified entries")


def load_trusted(path: Path) -> KeyHistory:
    """Trusted keys from a ``keys.json`` the operator published (:class:`UsageError`
    if it cannot be read as one)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_TRUSTED_KEYS + 1)
        if len(data) > MAX_TRUSTED_KEYS:
            raise UsageError(f"{path}: larger than {MAX_TRUSTED_KEYS} bytes")
        history = KeyHistory(PublicKeyInfo.from_json(k) for k in strict_json(data)["keys"])
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (ValueError, KeyError, TypeError, AttributeError, EncodingError) as exc:
        raise UsageError(f"{path}: not a key history like the audit API's "
                               f"/audit/v1/keys ({exc!r:.200})") from None
    if not history.keys:
        raise UsageError(f"{path}: holds no key")
    return history


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The verify command's options (shared with ``passerelle audit verify``)."""
    parser = parser or argparse.ArgumentParser(
        prog="python -m consent.evidence.verify", description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the proof bundle (zip)")
    parser.add_argument("--consent", help="fail unless the bundle is this consent's")
    parser.add_argument("--household", help="fail unless the bundle is this household's")
    parser.add_argument("--recipient", help="fail unless the bundle is this recipient's")
    parser.add_argument("--tenant", help="fail unless the bundle is this tenant's")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--trusted-keys", type=Path,
                      help="keys.json published by the operator: every key must be in it "
                           "(without it the result is 'unverified keys', exit code 4)")
    keys.add_argument("--accept-bundle-keys", action="store_true",
                      help="FOR TESTING ONLY: take the bundle's own keys.json as trusted")
    parser.add_argument("--checkpoint", type=Path, action="append", default=[],
                        metavar="NOTE",
                        help="a checkpoint you kept from an earlier bundle (its checkpoints/"
                             "<size>.note; repeatable, needs --trusted-keys): the bundle must "
                             "hold one of the same size and root, or the log was rewritten")
    return parser


def run(args: argparse.Namespace) -> int:
    """Verify, print the report, return its exit code (0 valid, 1 integrity failure, 2 usage
    error, 3 outside consent, 4 unverified keys)."""
    trusted, kept = None, []
    try:
        if args.checkpoint and not args.trusted_keys:
            raise UsageError("--checkpoint needs --trusted-keys: a kept checkpoint is checked "
                             "against the operator's published keys")
        if args.trusted_keys:
            trusted = load_trusted(args.trusted_keys)
            kept = [load_kept(path, trusted) for path in args.checkpoint]
        if not args.bundle.is_file():
            raise UsageError(f"{args.bundle}: no such bundle file")
    except UsageError as exc:
        sys.stderr.write(f"passerelle audit verify: error: {exc}\n")
        return EXIT_USAGE
    report = verify_bundle(args.bundle, trusted=trusted, kept=kept,
                           accept_bundle_keys=args.accept_bundle_keys,
                           expect=Expectation(args.consent, args.household, args.recipient,
                                              args.tenant))
    sys.stdout.write(report.render())
    return report.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
