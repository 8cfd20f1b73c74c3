"""The verifier's check of ``log/entries.tsv`` against the anchor checkpoint, the records, the
chains, the documents and the consents' scopes. Pure; see :mod:`consent.evidence.verify`.

Two passes over the entries: the first checks every leaf, payload hash, record signature, order,
selection and chain, and collects the leaves for the batch inclusion proof; the second judges
every served access against its consent's records (all known by then, whatever their order).
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from consent.evidence.canonical import (
    EncodingError,
    b64decode,
    parse_canonical,
    parse_checked,
    parse_instant,
)
from consent.evidence.events import MIN_DETAIL_DAYS, PRUNABLE
from consent.evidence.keys import KeyHistory
from consent.evidence.merkle import ProofError, root_from_batch
from consent.evidence.notes import Checkpoint
from consent.evidence.selection import Selection
from consent.evidence.signing import SignatureProblem, verify_envelope
from consent.evidence.summary import Summary
from consent.evidence.verify_members import Members, strict_json
from consent.evidence.verify_records import (
    KINDS,
    access_problem,
    file_problems,
    record_problem,
)
from consent.numbers import whole_number

if TYPE_CHECKING:
    from consent.evidence.verify_report import Report

ENTRIES = "log/entries.tsv"


def _instant_or(text: object, default: datetime) -> datetime:
    """``text`` as an instant, or ``default`` if it is none (the manifest's own checks say
    what is wrong with it)."""
    try:
        return parse_instant(str(text))
    except (EncodingError, ValueError):
        return default


class EntryChecker:
    """Checks the log part of a bundle, reporting into ``report``."""

    def __init__(self, members: Members, report: Report, keys: KeyHistory,
                 selection: Selection, manifest: Mapping[str, Any], anchor: Checkpoint,
                 anchor_issued_at: datetime) -> None:
        self.members, self.report, self.keys = members, report, keys
        self.selection, self.manifest, self.anchor = selection, manifest, anchor
        self.anchor_issued_at = anchor_issued_at
        self.exported_at = _instant_or(manifest.get("exported_at"), anchor_issued_at)
        self.indices = array("q")
        self.leaves: list[bytes] = []
        self.chains: dict[str, list[int]] = {}
        self.records: dict[int, Mapping[str, Any]] = {}
        self.record_hashes: set[str] = set()
        self.access_lines = array("q")
        self.access_headers: list[Mapping[str, Any]] = []
        self.referenced: set[tuple[str, str]] = set()
        self.context: list[tuple[int, str, str]] = []
        self.pruned = 0
        self.summary: Summary | None = None

    def fail(self, where: str, what: str) -> None:
        self.report.fail(where, what)

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """Numbered lines (without their newline), each bounded in length."""
        return self.members.lines(ENTRIES)

    def run(self) -> None:
        for number, line in self.lines():
            self.entry(number, line)
        self.inclusion()
        self.completeness()
        self.files()
        self.coverage()
        self.report.facts.append(
            f"Entries: {len(self.indices)} checked ({len(self.records)} signed records, "
            f"{len(self.access_lines)} accesses, {self.pruned} pruned)")

    def entry(self, number: int, line: bytes) -> None:
        where = f"{ENTRIES} line {number}"
        fields = line.split(b"\t")
        index = whole_number(fields[0]) if len(fields) == 4 else None
        if index is None:
            self.fail(where, "not 'index, leaf, payload, pruned' separated by tabs")
            return
        leaf, payload, mark = fields[1], fields[2], fields[3]
        where = f"entry {index}"
        if self.indices and index <= self.indices[-1]:
            self.fail(where, f"out of order: it follows entry {self.indices[-1]}")
        if index >= self.anchor.size:
            self.fail(where, f"beyond the anchor checkpoint ({self.anchor.size} entries)")
        self.indices.append(index)
        self.leaves.append(hashlib.sha256(b"\x00" + leaf).digest())
        try:
            header = parse_canonical(leaf)
            kind, refs, at = header["kind"], header["refs"], parse_instant(header["at"])
            if header.get("v") != 1 or kind not in KINDS or not isinstance(refs, dict):
                raise ValueError("unknown leaf version, kind or refs")
        except (ValueError, KeyError, TypeError) as exc:  # EncodingError is a ValueError
            self.fail(where, f"malformed leaf ({exc})")
            return
        if payload == b"-":
            self.pruning(where, kind, at, mark)
            self.pruned += 1
        elif hashlib.sha256(payload).hexdigest() != header.get("payload"):
            self.fail(where, "payload does not match the hash in its leaf")
            return
        elif not self.canonical_payload(where, payload):
            return
        self.membership(where, index, kind, refs, at)
        if "chain" in header:
            seqs = self.chains.setdefault(str(header["chain"]), [])
            if seqs and header["seq"] <= seqs[-1]:
                self.fail(where, f"chain {header['chain']} goes back to seq {header['seq']}")
            seqs.append(int(header["seq"]))
        if kind == "access":
            self.access_lines.append(number)
            self.access_headers.append(header)
        elif payload == b"-":
            return
        elif kind in ("consent.record", "mandate.record"):
            self.record(where, index, kind, header, payload)
        elif kind == "key.rotated":
            self.rotation(where, parse_checked(payload))

    def canonical_payload(self, where: str, payload: bytes) -> bool:
        """A payload is the canonical JSON its leaf's hash was taken of (§6.2)."""
        try:
            parse_canonical(payload)
            return True
        except (ValueError, TypeError):
            pass
        self.fail(where, "the payload is not canonical JSON")
        return False

    def pruning(self, where: str, kind: str, at: datetime, mark: bytes) -> None:
        """A pruned entry must be one retention prunes (R17: a usage trace or its counts, at
        least 31 days old when pruned, before the export): else deleting a payload would hide
        an access or a withdrawal from the judgement of the bundle."""
        if mark == b"-":
            self.fail(where, "payload missing but the entry is not marked as pruned")
            return
        try:
            pruned = strict_json(mark)
            pruned_at, reason = parse_instant(str(pruned["at"])), pruned["reason"]
            if not isinstance(reason, str) or not reason:
                raise ValueError("no reason")
        except (ValueError, KeyError, TypeError, EncodingError) as exc:
            self.fail(where, f"malformed pruning mark ({exc})")
            return
        if kind not in PRUNABLE:
            self.fail(where, f"payload deleted, but {kind} entries are never pruned")
        elif pruned_at < at + timedelta(days=MIN_DETAIL_DAYS):
            self.fail(where, f"pruned at {pruned['at']}, less than {MIN_DETAIL_DAYS} days "
                             "after the event (R17)")
        elif pruned_at > self.exported_at:
            self.fail(where, f"pruned at {pruned['at']}, after the bundle was exported")

    def membership(self, where: str, index: int, kind: str, refs: Mapping[str, Any],
                   at: Any) -> None:
        if self.selection.matches(refs, at):
            for name in ("consent_id", "mandate_id"):
                if refs.get(name):
                    self.referenced.add((name, refs[name]))
        elif kind == "consent.record" and self.selection.confines(refs):
            self.context.append((index, "consent_id", str(refs.get("consent_id"))))
        elif kind == "mandate.record" and self.selection.confines(refs):
            self.context.append((index, "mandate_id", str(refs.get("mandate_id"))))
        elif kind != "key.rotated":
            self.fail(where, "outside the bundle's selection")

    def record(self, where: str, index: int, kind: str, header: Mapping[str, Any],
               payload: bytes) -> None:
        try:
            envelope = verify_envelope(parse_checked(payload), self.keys)
        except (SignatureProblem, ValueError) as exc:
            self.fail(where, f"signed record: {exc}")
            return
        record = envelope.record
        self.record_hashes.add(hashlib.sha256(payload).hexdigest())
        problem = record_problem(kind, header, record)
        if problem is not None:
            self.fail(where, problem)
            return  # never judged by: an unknown state could read as a consent withdrawn
        self.records[index] = record

    def rotation(self, where: str, payload: Mapping[str, Any]) -> None:
        key = self.keys.get(str(payload.get("kid")))
        if key is None or payload.get("not_before") is None or \
                parse_instant(str(payload["not_before"])) != key.not_before:
            self.fail(where, "a logged key rotation is missing from keys.json or differs")

    def inclusion(self) -> None:
        where = "log/inclusion.json"
        tampered = "an entry was changed, removed, added or moved"
        try:
            proof = strict_json(self.members.read(where))
            nodes = [(int(lo), int(hi), b64decode(h)) for lo, hi, h in proof["nodes"]]
            if proof["tree_size"] != self.anchor.size:
                self.fail(where, "proves a tree of another size than the anchor checkpoint")
        except (ValueError, KeyError, TypeError, EncodingError) as exc:
            self.fail(where, f"malformed batch inclusion proof ({exc})")
            return
        try:
            root = root_from_batch(self.indices, self.leaves, self.anchor.size, nodes)
        except ProofError as exc:
            self.fail(where, f"the entries do not fit the inclusion proof ({exc}): {tampered}")
            return
        if root != self.anchor.root:
            self.fail(where, f"the entries do not reproduce the anchor checkpoint's root hash: "
                             f"{tampered}")

    def completeness(self) -> None:
        for index, name, value in self.context:
            if (name, value) not in self.referenced:
                self.fail(f"entry {index}", "outside the bundle's selection")
        claims: Mapping[str, Any] = self.manifest.get("chains", {})
        for chain, seqs in self.chains.items():
            claim = claims.get(chain)
            if claim is None or claim.get("first") != seqs[0] or claim.get("last") != seqs[-1]:
                self.fail(f"chain {chain}", "its entries differ from the manifest's claim")
            elif claim.get("complete") and (seqs[0] != 0 or len(seqs) != seqs[-1] + 1):
                have = set(seqs)
                missing = [s for s in range(seqs[-1] + 1) if s not in have][:10]
                self.fail(f"chain {chain}", f"entries with seq {missing} are missing")
        for chain in claims:
            if chain not in self.chains:
                self.fail(f"chain {chain}", "claimed by the manifest but absent")
        wanted = self.selection.consent_id
        if wanted and not self.selection.bounded and not claims.get(
                f"consent:{wanted}", {}).get("complete"):
            self.fail(f"consent {wanted}", "its chain of records and accesses is incomplete")
        if self.manifest.get("entries") != len(self.indices):
            self.fail("manifest.json", f"claims {self.manifest.get('entries')} entries, the "
                                       f"log has {len(self.indices)}")

    def files(self) -> None:
        for where, what in file_problems(self.members, self.records.values(),
                                         self.record_hashes,
                                         self.manifest.get("withheld_documents", [])):
            self.fail(where, what)

    def coverage(self) -> None:
        ordered = [self.records[i] for i in sorted(self.records)]
        self.summary = summary = Summary(self.selection, ordered)
        wanted = iter(zip(self.access_lines, self.access_headers, strict=True))
        target, header = next(wanted, (None, None))
        for number, line in self.lines():
            if number != target or header is None:
                continue
            index, _leaf, payload, _mark = line.split(b"\t")
            where, consent_id = f"entry {int(index)}", header["refs"].get("consent_id")
            # Its bytes passed parse_canonical in entry(), or the report has failed already.
            access = None if payload == b"-" else parse_checked(payload)
            mismatch = None if access is None else access_problem(header, access)
            if mismatch is not None:
                self.fail(where, mismatch)  # counted by no tally: its words are not format 1
            else:
                problem = summary.access(int(index), consent_id, access)
                if problem is not None:
                    self.report.finding(where, f"served outside consent {consent_id}: "
                                               f"{problem}")
            target, header = next(wanted, (None, None))

    def story(self) -> str:
        if self.summary is None:
            return ""
        anchor = self.manifest.get("anchor", {})
        return self.summary.render(
            origin=str(self.manifest.get("origin")), anchor_size=int(anchor.get("size", 0)),
            anchor_issued_at=self.anchor_issued_at,
            exported_at=parse_instant(str(self.manifest.get("exported_at"))),
            actor=str(self.manifest.get("exported_by")), entries=len(self.indices),
            pruned=self.pruned, withheld=self.manifest.get("withheld_documents", []))
