"""Offline verifier of Passerelle proof bundles: ``passerelle audit verify bundle.zip`` or
``python -m consent.evidence.verify bundle.zip``.

Needs no server and no database: it imports only the standard library, ``cryptography``,
``rfc8785`` and the pure modules of this package (``canonical``, ``merkle``, ``notes``, ``keys``,
``signing``, ``selection``, ``coverage``, ``summary``, ``verify_log``, ``verify_report``; a test
enforces it). It checks, and names what is wrong when a check fails (docs/evidence-format.md
§Verification):

1. the key history (key ids are hashes of the keys; periods do not overlap; optionally every key
   is among keys the auditor already trusts);
2. the manifest's signature, and the SHA-256 of every file against the manifest;
3. every checkpoint's signed-note signature, by a key valid when it was issued, and a
   consistency proof from each earlier checkpoint to the anchor;
4. every log entry: leaf format, payload hash, order, selection, chain sequence numbers, and
   that all leaves together reproduce the anchor root (batch inclusion proof);
5. every signed record (signature, key valid at ``signed_at``), record files and documents;
6. that no access was served outside its consent's active period and scope.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from consent.evidence.canonical import EncodingError, b64decode, parse_instant
from consent.evidence.keys import KeyHistory, PublicKeyInfo
from consent.evidence.merkle import ProofError, verify_consistency
from consent.evidence.notes import Checkpoint, NoteError, open_note
from consent.evidence.selection import Selection
from consent.evidence.signing import SignatureProblem, verify_envelope
from consent.evidence.verify_log import EntryChecker
from consent.evidence.verify_report import Expectation, Report

__all__ = ["Expectation", "Report", "build_parser", "load_trusted", "main", "run",
           "verify_bundle"]

FORMAT = "passerelle-evidence-bundle/1"
REQUIRED = ("manifest.json", "keys.json", "checkpoints/index.json", "log/entries.tsv",
            "log/inclusion.json")


def verify_bundle(source: str | Path | IO[bytes], *, expect: Expectation | None = None,
                  trusted: KeyHistory | None = None) -> Report:
    """Verify a bundle (path or binary file); never raises for a bad bundle."""
    report = Report(str(source) if isinstance(source, str | Path) else "<stream>")
    try:
        bundle = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        report.fail("bundle", f"not a readable zip file ({exc})")
        return report
    with bundle:
        try:
            _Verification(bundle, report, expect or Expectation(), trusted).run()
        except _Stop:
            pass
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError,
                RecursionError, NotImplementedError, zlib.error, zipfile.BadZipFile,
                EOFError) as exc:  # a malformed bundle (out-of-range instants, JSON nested
            # past the recursion limit, a broken or unknown compression), never a crash
            report.fail("bundle", f"malformed content stopped the verification ({exc!r:.200})")
    return report


def _narrower(bundle: PublicKeyInfo, trusted: PublicKeyInfo) -> PublicKeyInfo:
    """``bundle``'s key valid only when both histories say so."""
    ends = [end for end in (bundle.not_after, trusted.not_after) if end is not None]
    return replace(bundle, not_before=max(bundle.not_before, trusted.not_before),
                   not_after=min(ends) if ends else None)


class _Stop(Exception):
    """A failure after which nothing else can be trusted (no keys, bad manifest)."""


class _Verification:
    def __init__(self, bundle: zipfile.ZipFile, report: Report, expect: Expectation,
                 trusted: KeyHistory | None) -> None:
        self.bundle = bundle
        self.report = report
        self.expect = expect
        self.trusted = trusted

    def fail(self, where: str, what: str) -> None:
        self.report.fail(where, what)

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.bundle.read(name))
        except (KeyError, ValueError) as exc:
            self.fail(name, f"missing or not JSON ({exc})")
            raise _Stop from None

    def run(self) -> None:
        names = self.bundle.namelist()
        if len(names) != len(set(names)):
            self.fail("bundle", "the zip holds two members with the same name")
        for name in REQUIRED:
            if name not in names:
                self.fail(name, "missing from the bundle")
        if not self.report.ok:
            raise _Stop
        keys = self.keys()
        manifest = self.manifest(keys)
        self.files(manifest, names)
        selection = self.selection(manifest)
        anchor, issued_at = self.checkpoints(manifest, keys)
        checker = EntryChecker(self.bundle, self.report, keys, selection, manifest, anchor,
                               issued_at)
        checker.run()
        self.report.story = checker.story()

    def keys(self) -> KeyHistory:
        data = self.json("keys.json")
        try:
            history = KeyHistory(PublicKeyInfo.from_json(k) for k in data["keys"])
        except (KeyError, TypeError, EncodingError) as exc:
            self.fail("keys.json", f"malformed key history ({exc})")
            raise _Stop from None
        for before, after in history.overlaps():
            self.fail("keys.json", f"keys {before[:12]}... and {after[:12]}... are valid at "
                                   "the same time")
        if self.trusted is None:
            self.report.facts.append(
                "Keys: taken from the bundle itself; compare these fingerprints with the "
                "operator's published keys (or pass --trusted-keys): "
                + ", ".join(k.kid for k in history.keys))
        else:
            narrowed, strangers = [], 0
            for key in history.keys:
                known = self.trusted.get(key.kid)
                if known is None or known.public_key != key.public_key:
                    self.fail("keys.json", f"key {key.kid[:12]}... is not among the trusted "
                                           "keys")
                    narrowed.append(key)
                    strangers += 1
                    continue
                narrowed.append(_narrower(key, known))
            self.report.facts.append(
                f"Keys: all {len(history)} bundle keys are trusted." if not strangers else
                f"Keys: {strangers} of the {len(history)} bundle keys are not trusted.")
            # A bundle's keys.json is the signer's word: where the trusted history says a key
            # was valid for less time, that wins (a retired key cannot be reopened by editing
            # the bundle), and where the bundle says less, so does it.
            history = KeyHistory(narrowed)
        return history

    def manifest(self, keys: KeyHistory) -> Mapping[str, Any]:
        try:
            envelope = verify_envelope(self.json("manifest.json"), keys)
        except SignatureProblem as exc:
            self.fail("manifest.json", str(exc))
            raise _Stop from None
        manifest = envelope.record
        if manifest.get("format") != FORMAT:
            self.fail("manifest.json", f"unknown format {manifest.get('format')!r}")
            raise _Stop
        self.report.facts.append(
            f"Manifest: signed by key {envelope.kid[:16]}... at {manifest.get('exported_at')},"
            f" exported by {manifest.get('exported_by')}")
        return manifest

    def files(self, manifest: Mapping[str, Any], names: Sequence[str]) -> None:
        listed: Mapping[str, str] = manifest.get("files", {})
        for name in names:
            if name == "manifest.json" or name.endswith("/"):
                continue
            if name not in listed:
                self.fail(name, "not listed in the manifest")
            elif _sha256_member(self.bundle, name) != listed[name]:
                self.fail(name, "content changed: its SHA-256 differs from the manifest")
        for name in listed:
            if name not in names:
                self.fail(name, "listed in the manifest but missing from the bundle")
        self.report.facts.append(f"Files: {len(listed)} listed, hashes checked")

    def selection(self, manifest: Mapping[str, Any]) -> Selection:
        try:
            selection = Selection.from_json(manifest["selection"])
        except Exception as exc:
            self.fail("manifest.json", f"malformed selection ({exc})")
            raise _Stop from None
        for name in ("consent_id", "household_id", "recipient_id", "tenant"):
            wanted = getattr(self.expect, name)
            if wanted is not None and getattr(selection, name) != wanted:
                self.fail("manifest.json", f"this bundle selects {name.removesuffix('_id')} "
                                           f"{getattr(selection, name)}, not {wanted}")
        self.report.facts.append(f"Selection: {selection.describe()}")
        return selection

    def checkpoints(self, manifest: Mapping[str, Any],
                    keys: KeyHistory) -> tuple[Checkpoint, datetime]:
        origin = str(manifest.get("origin"))
        index = self.json("checkpoints/index.json")
        note_keys = {k.note_key(origin).key_id: k for k in keys.keys}
        parsed: list[tuple[Mapping[str, Any], Checkpoint, datetime]] = []
        for item in index.get("checkpoints", []):
            name = str(item.get("file"))
            try:
                text, signers = open_note(self.bundle.read(name).decode(),
                                          [k.note_key(origin) for k in keys.keys])
                checkpoint = Checkpoint.parse(text)
            except (KeyError, UnicodeDecodeError, NoteError) as exc:
                self.fail(name, f"checkpoint does not verify ({exc})")
                continue
            issued_at = parse_instant(str(item.get("issued_at")))
            # Each verified signature counts: a note co-signed across a rotation holds if one
            # of its keys was in force when it was issued (c2sp.org/signed-note: a verifier
            # accepts a note by any signature from a key it trusts).
            signed_by = [note_keys[signer.key_id] for signer in signers]
            if not any(key.valid_at(issued_at) for key in signed_by):
                kids = ", ".join(f"{key.kid[:12]}..." for key in signed_by)
                self.fail(name, f"signed by key {kids}, not valid at {item.get('issued_at')}")
            if checkpoint.origin != origin or checkpoint.size != item.get("size"):
                self.fail(name, "origin or size differs from checkpoints/index.json")
            parsed.append((item, checkpoint, issued_at))
        anchors = [(cp, at) for item, cp, at in parsed if item.get("anchor")]
        claimed = manifest.get("anchor", {})
        if len(anchors) != 1:
            self.fail("checkpoints/index.json", "exactly one verified anchor checkpoint needed")
            raise _Stop
        anchor, anchor_issued_at = anchors[0]
        if anchor.size != claimed.get("size") or b64decode(str(claimed.get("root"))) != \
                anchor.root:
            self.fail("manifest.json", "the anchor differs from the signed anchor checkpoint")
        for item, checkpoint, _at in parsed:
            try:
                proof = [b64decode(h) for h in item.get("consistency", [])]
                verify_consistency(checkpoint.size, anchor.size, checkpoint.root, anchor.root,
                                   proof)
            except (EncodingError, ProofError) as exc:
                self.fail(str(item.get("file")), f"not consistent with the anchor ({exc})")
        self.report.facts.append(
            f"Log: {origin}, anchor checkpoint of {anchor.size} entries; {len(parsed) - 1} "
            "earlier checkpoint(s) proven consistent with it")
        return anchor, anchor_issued_at


def _sha256_member(bundle: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with bundle.open(name) as member:
        while chunk := member.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load_trusted(path: Path) -> KeyHistory:
    """Trusted keys from a ``keys.json`` the operator published."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return KeyHistory(PublicKeyInfo.from_json(k) for k in data["keys"])


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The verify command's options (shared with ``passerelle audit verify``)."""
    parser = parser or argparse.ArgumentParser(
        prog="python -m consent.evidence.verify", description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the proof bundle (zip)")
    parser.add_argument("--consent", help="fail unless the bundle is this consent's")
    parser.add_argument("--household", help="fail unless the bundle is this household's")
    parser.add_argument("--recipient", help="fail unless the bundle is this recipient's")
    parser.add_argument("--tenant", help="fail unless the bundle is this tenant's")
    parser.add_argument("--trusted-keys", type=Path,
                        help="keys.json published by the operator: every key must be in it")
    return parser


def run(args: argparse.Namespace) -> int:
    """Verify, print the report, return 0 if valid and 1 if not."""
    trusted = load_trusted(args.trusted_keys) if args.trusted_keys else None
    report = verify_bundle(args.bundle, trusted=trusted, expect=Expectation(
        args.consent, args.household, args.recipient, args.tenant))
    sys.stdout.write(report.render())
    return 0 if report.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
