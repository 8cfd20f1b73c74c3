"""The verifier's checks of what vouches for a bundle's log: the key history, the signed
manifest, the members it lists, the selection and the checkpoints (docs/evidence-format.md §10
steps 1 to 3). Pure; see :mod:`consent.evidence.verify`, which runs these checks and then
:class:`~consent.evidence.verify_log.EntryChecker` over the entries.

Every check reports into the :class:`~consent.evidence.verify_report.Report`; a failure after
which nothing else can be trusted (no usable keys, a manifest that does not verify) raises
:class:`Stop`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from consent.evidence.canonical import EncodingError, b64decode, canonical, parse_instant
from consent.evidence.keys import KeyHistory, PublicKeyInfo
from consent.evidence.merkle import ProofError, verify_consistency
from consent.evidence.notes import Checkpoint, NoteError, open_note
from consent.evidence.selection import Selection
from consent.evidence.signing import SignatureProblem, verify_envelope
from consent.evidence.verify_members import MemberError, Members, strict_json
from consent.evidence.verify_report import ACCEPTED, TRUSTED, Expectation, Report

FORMAT = "passerelle-evidence-bundle/1"
MANIFEST = "manifest.json"


class Stop(Exception):
    """A failure after which nothing else can be trusted (no keys, bad manifest)."""


def _narrower(bundle: PublicKeyInfo, trusted: PublicKeyInfo) -> PublicKeyInfo:
    """``bundle``'s key valid only when both histories say so."""
    ends = [end for end in (bundle.not_after, trusted.not_after) if end is not None]
    return replace(bundle, not_before=max(bundle.not_before, trusted.not_before),
                   not_after=min(ends) if ends else None)


class HeadChecker:
    """Keys, manifest, members, selection and checkpoints of one bundle."""

    def __init__(self, members: Members, report: Report, expect: Expectation,
                 trusted: KeyHistory | None, accept_bundle_keys: bool) -> None:
        self.members = members
        self.report = report
        self.expect = expect
        self.trusted = trusted
        self.accept_bundle_keys = accept_bundle_keys
        #: The bundle's verified checkpoints by size, once :meth:`checkpoints` ran (what an
        #: auditor's kept checkpoints are compared with: :mod:`.verify_kept`).
        self.held: dict[int, Checkpoint] = {}

    def fail(self, where: str, what: str) -> None:
        self.report.fail(where, what)

    def json(self, name: str) -> Any:
        try:
            return strict_json(self.members.read(name))
        except MemberError:
            raise
        except ValueError as exc:
            self.fail(name, f"missing or not strict JSON ({exc})")
            raise Stop from None

    def keys(self) -> KeyHistory:
        data = self.json("keys.json")
        try:
            history = KeyHistory(PublicKeyInfo.from_json(k) for k in data["keys"])
        except (KeyError, TypeError, EncodingError) as exc:
            self.fail("keys.json", f"malformed key history ({exc})")
            raise Stop from None
        for before, after in history.overlaps():
            self.fail("keys.json", f"keys {before[:12]}... and {after[:12]}... are valid at "
                                   "the same time")
        fingerprints = ", ".join(k.kid for k in history.keys)
        if self.trusted is None:
            # The bundle cannot vouch for its own keys: anyone can sign a bundle with a key
            # of their own and list it in keys.json. Said plainly, and an exit code of its own.
            self.report.keys = ACCEPTED if self.accept_bundle_keys else self.report.keys
            self.report.facts.append(
                "Keys: UNVERIFIED - taken from the bundle itself, which cannot vouch for them"
                + (" (accepted with --accept-bundle-keys, for testing only)"
                   if self.accept_bundle_keys else "; pass the operator's published keys "
                   "with --trusted-keys") + ": " + fingerprints)
            return history
        narrowed, strangers = [], 0
        for key in history.keys:
            known = self.trusted.get(key.kid)
            if known is None or known.public_key != key.public_key:
                self.fail("keys.json", f"key {key.kid[:12]}... is not among the trusted keys")
                narrowed.append(key)
                strangers += 1
                continue
            narrowed.append(_narrower(key, known))
        self.report.keys = TRUSTED
        self.report.facts.append(
            f"Keys: all {len(history)} bundle keys are trusted." if not strangers else
            f"Keys: {strangers} of the {len(history)} bundle keys are not trusted.")
        # A bundle's keys.json is the signer's word: where the trusted history says a key was
        # valid for less time, that wins (a retired key cannot be reopened by editing the
        # bundle), and where the bundle says less, so does it.
        return KeyHistory(narrowed)

    def manifest(self, keys: KeyHistory) -> Mapping[str, Any]:
        raw = self.members.read(MANIFEST)
        try:
            envelope = strict_json(raw)
            exact = canonical(envelope) == raw
        except (ValueError, TypeError):  # EncodingError is a ValueError
            self.fail(MANIFEST, "missing or not strict JSON")
            raise Stop from None
        if not exact:
            # Its SHA-256 is what the log (audit.export) and X-Manifest-SHA256 record: other
            # bytes with the same meaning would be another manifest than the one logged.
            self.fail(MANIFEST, "not the canonical JSON bytes of its content")
            raise Stop
        try:
            signed = verify_envelope(envelope, keys)
        except SignatureProblem as exc:
            self.fail(MANIFEST, str(exc))
            raise Stop from None
        manifest = signed.record
        if manifest.get("format") != FORMAT:
            self.fail(MANIFEST, f"unknown format {manifest.get('format')!r}")
            raise Stop
        self.report.facts.append(
            f"Manifest: signed by key {signed.kid[:16]}... at {manifest.get('exported_at')},"
            f" exported by {manifest.get('exported_by')}")
        return manifest

    def files(self, manifest: Mapping[str, Any]) -> None:
        listed: Mapping[str, str] = manifest.get("files", {})
        names = set(self.members.names)
        for name in self.members.limits:  # the members of the layout (check() named others)
            if name == MANIFEST:
                continue
            if name not in listed:
                self.fail(name, "not listed in the manifest")
            elif self.members.sha256(name) != listed[name]:
                self.fail(name, "content changed: its SHA-256 differs from the manifest")
        for name in listed:
            if name not in names:
                self.fail(name, "listed in the manifest but missing from the bundle")
        self.report.facts.append(f"Files: {len(listed)} listed, hashes checked")

    def selection(self, manifest: Mapping[str, Any]) -> Selection:
        try:
            selection = Selection.from_json(manifest["selection"])
        except Exception as exc:
            self.fail(MANIFEST, f"malformed selection ({exc})")
            raise Stop from None
        for name in ("consent_id", "household_id", "recipient_id", "tenant"):
            wanted = getattr(self.expect, name)
            if wanted is not None and getattr(selection, name) != wanted:
                self.fail(MANIFEST, f"this bundle selects {name.removesuffix('_id')} "
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
                text, signers = open_note(self.members.read(name).decode(),
                                          [k.note_key(origin) for k in keys.keys])
                checkpoint = Checkpoint.parse(text)
            except (MemberError, UnicodeDecodeError, NoteError) as exc:
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
            self.held[checkpoint.size] = checkpoint
        anchors = [(cp, at) for item, cp, at in parsed if item.get("anchor")]
        claimed = manifest.get("anchor", {})
        if len(anchors) != 1:
            self.fail("checkpoints/index.json", "exactly one verified anchor checkpoint needed")
            raise Stop
        anchor, anchor_issued_at = anchors[0]
        if anchor.size != claimed.get("size") or b64decode(str(claimed.get("root"))) != \
                anchor.root:
            self.fail(MANIFEST, "the anchor differs from the signed anchor checkpoint")
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
