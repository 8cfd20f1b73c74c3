"""Export a proof bundle: everything an auditor needs to check one selection offline (R18).

The zip layout, encodings and checks are specified in docs/evidence-format.md. In short::

    manifest.json            signed record: format, selection, anchor, chains, file hashes
    keys.json                public key history (never a private key)
    checkpoints/index.json   checkpoints used, with consistency proofs to the anchor
    checkpoints/<size>.note  C2SP signed checkpoints (:mod:`.bundle_checkpoints` chooses them)
    log/entries.tsv          index, leaf, payload, pruning mark: one entry per line
    log/inclusion.json       batch inclusion proof of every entry to the anchor checkpoint
    records/...              the signed consent and mandate records, one file each
    documents/...            the proof documents the records cite
    summary.txt              who consented to what, when, what was accessed, when it ended

Entries are streamed in index order, one page of rows at a time, so exporting 100,000 accesses
holds only their indices in memory. The export itself is then logged (``audit.export``) with
the manifest's hash and the checkpoint sizes asked for: what an auditor was given can be proven
later; a refused one is logged too (:func:`~.bundle_checkpoints.requested_or_refused`).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import ColumnElement, and_, func, or_, select

from consent.errors import NotFound
from consent.evidence.blobs import EXTENSIONS
from consent.evidence.bundle_checkpoints import (
    checked_sizes,
    requested_or_refused,
    write_checkpoints,
)
from consent.evidence.canonical import b64encode, canonical, format_instant, sha256_hex
from consent.evidence.errors import DocumentTampered, EvidenceUnavailable
from consent.evidence.events import (
    ACCESS,
    AUDIT_EXPORT,
    CONSENT_RECORD,
    KEY_ROTATED,
    MANDATE_RECORD,
    LogEvent,
    Refs,
)
from consent.evidence.log_reader import ENTRY
from consent.evidence.merkle import batch_ranges
from consent.evidence.selection import Selection
from consent.evidence.signing import sign_record
from consent.evidence.summary import Summary

if TYPE_CHECKING:
    from consent.evidence.service import Evidence

FORMAT = "passerelle-evidence-bundle/1"
MANIFEST, KEYS, SUMMARY = "manifest.json", "keys.json", "summary.txt"
ENTRIES, INCLUSION = "log/entries.tsv", "log/inclusion.json"
RECORD_KINDS = (CONSENT_RECORD, MANDATE_RECORD)
_RANGE_CHUNK = 4000

Progress = Callable[[int, int], None]
"""Called with (entries written, entries to write)."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What was exported."""

    entries: int
    anchor_size: int
    manifest_sha256: str
    export_index: int
    pruned: int
    outside_consent: int


def selected(selection: Selection) -> ColumnElement[bool]:
    """SQL for the entries the selection names (without their context)."""
    conditions = [getattr(ENTRY.c, name) == value for name in
                  ("tenant", "consent_id", "household_id", "recipient_id")
                  if (value := getattr(selection, name)) is not None]
    if selection.start is not None:
        conditions.append(ENTRY.c.at >= format_instant(selection.start))
    if selection.end is not None:
        conditions.append(ENTRY.c.at < format_instant(selection.end))
    return and_(*conditions)


def selection_clause(selection: Selection, size: int) -> ColumnElement[bool]:
    """SQL for the selected entries of the log's first ``size`` plus their context: the
    records they cite (:meth:`Selection.confines`: never another tenant's or household's) and
    the key rotations. Context is what the bundle's own entries cite, so an entry appended
    after the anchor (``idx >= size``) brings none."""
    base = and_(selected(selection), ENTRY.c.idx < size)
    consents = select(ENTRY.c.consent_id).where(base, ENTRY.c.consent_id.is_not(None))
    mandates = select(ENTRY.c.mandate_id).where(base, ENTRY.c.mandate_id.is_not(None))
    confined = [ENTRY.c.tenant == selection.tenant] if selection.tenant is not None else []
    if selection.household_id is not None:
        confined.append(or_(ENTRY.c.household_id.is_(None),
                            ENTRY.c.household_id == selection.household_id))
    return and_(ENTRY.c.idx < size, or_(
        base,
        and_(ENTRY.c.kind == CONSENT_RECORD, ENTRY.c.consent_id.in_(consents), *confined),
        and_(ENTRY.c.kind == MANDATE_RECORD, ENTRY.c.mandate_id.in_(mandates), *confined),
        ENTRY.c.kind == KEY_ROTATED))


class _Zip:
    """A zip being written, remembering the SHA-256 of every member."""

    def __init__(self, out: BinaryIO) -> None:
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self.hashes: dict[str, str] = {}

    def write(self, name: str, data: bytes) -> None:
        self.zip.writestr(name, data)
        self.hashes[name] = sha256_hex(data)

    def write_json(self, name: str, value: Any) -> None:
        self.write(name, (json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)
                          + "\n").encode())

    @contextmanager
    def stream(self, name: str) -> Iterator[Callable[[bytes], None]]:
        digest = hashlib.sha256()
        with self.zip.open(name, "w", force_zip64=True) as member:
            def write(data: bytes) -> None:
                digest.update(data)
                member.write(data)
            yield write
        self.hashes[name] = digest.hexdigest()


async def export_bundle(evidence: Evidence, selection: Selection, out: BinaryIO, *,
                        actor: str, progress: Progress | None = None,
                        include_documents: bool = True,
                        checkpoint_sizes: Sequence[int] = ()) -> ExportResult:
    """Write the bundle of ``selection`` to ``out`` and log the export; see the module doc.
    ``checkpoint_sizes`` are tree sizes whose stored checkpoints the bundle must carry too
    (:mod:`~consent.evidence.bundle_checkpoints`): a size without one fails the export before
    anything is written."""
    anchor = await evidence.checkpoints.issue()
    sizes = checked_sizes(checkpoint_sizes)
    requested = await requested_or_refused(evidence, sizes, anchor, actor=actor,
                                           selection=selection.to_json(), refs=_refs(selection))
    origin = anchor.checkpoint.origin
    size = anchor.size
    clause = selection_clause(selection, size)
    log = evidence.log
    async with log.db.engine.connect() as conn:
        total = int((await conn.execute(select(func.count()).select_from(ENTRY)
                                        .where(clause))).scalar_one())
    records = [row async for row in log.entries(
        select(ENTRY.c.idx, ENTRY.c.kind, ENTRY.c.chain, ENTRY.c.seq, ENTRY.c.payload)
        .where(clause, ENTRY.c.kind.in_(RECORD_KINDS)))]
    envelopes = {row.idx: json.loads(row.payload) for row in records if row.payload}
    summary = Summary(selection, [envelopes[i]["record"] for i in sorted(envelopes)])
    bundle = _Zip(out)
    indices = array("q")
    chains: dict[str, list[int]] = {}
    pruned = 0
    with bundle.stream(ENTRIES) as write:
        lines: list[str] = []
        async for row in log.entries(select(
                ENTRY.c.idx, ENTRY.c.kind, ENTRY.c.leaf, ENTRY.c.payload, ENTRY.c.chain,
                ENTRY.c.seq, ENTRY.c.consent_id, ENTRY.c.pruned_at, ENTRY.c.prune_reason)
                .where(clause)):
            indices.append(row.idx)
            mark = "-"
            if row.payload is None:
                pruned += 1
                mark = canonical({"at": row.pruned_at, "reason": row.prune_reason}).decode()
            lines.append(f"{row.idx}\t{row.leaf}\t{row.payload or '-'}\t{mark}\n")
            if row.chain is not None:
                seen = chains.setdefault(row.chain, [row.seq, row.seq, 0])
                seen[1], seen[2] = row.seq, seen[2] + 1
            if row.kind == ACCESS:
                summary.access(row.idx, row.consent_id,
                               None if row.payload is None else json.loads(row.payload))
            if len(lines) == 2000:
                write("".join(lines).encode())
                lines.clear()
                if progress is not None:
                    progress(len(indices), total)
        write("".join(lines).encode())
    if progress is not None:
        progress(len(indices), total)
    await _write_inclusion(evidence, bundle, indices, size)
    chain_claims = await _chain_claims(evidence, chains, size)
    await write_checkpoints(evidence, bundle, anchor, [r.idx for r in records], requested)
    history = await evidence.keys.history()
    bundle.write_json(KEYS, {"origin": origin,
                             "keys": [key.to_json(origin) for key in history.keys]})
    for row in records:
        if row.payload:
            record = envelopes[row.idx]["record"]
            subject = record.get("consent_id") or record.get("mandate_id")
            bundle.write(f"records/{record.get('type')}/{subject}/{row.seq:06d}-"
                         f"{record.get('action')}.json", row.payload.encode())
    withheld = await _write_documents(evidence, bundle, envelopes.values(), include_documents)
    now = evidence.clock.now()
    bundle.write(SUMMARY, summary.render(
        origin=origin, anchor_size=size, anchor_issued_at=anchor.issued_at,
        exported_at=now, actor=actor, entries=len(indices), pruned=pruned,
        withheld=withheld).encode())
    manifest = {
        "format": FORMAT, "origin": origin, "exported_at": format_instant(now),
        "exported_by": actor, "selection": selection.to_json(),
        "anchor": {"size": size, "root": b64encode(anchor.checkpoint.root)},
        "entries": len(indices), "pruned": pruned, "chains": chain_claims,
        "withheld_documents": withheld, "files": dict(sorted(bundle.hashes.items())),
    }
    signed = await sign_record(evidence.keys, manifest, now)
    manifest_bytes = canonical(signed.to_json())
    bundle.write(MANIFEST, manifest_bytes)
    bundle.zip.close()
    manifest_sha256 = sha256_hex(manifest_bytes)
    logged = await log.append(LogEvent(AUDIT_EXPORT, now, {
        "actor": actor, "selection": selection.to_json(), "manifest_sha256": manifest_sha256,
        "anchor_size": size, "entries": len(indices), "chains": chain_claims,
        "checkpoint_sizes": list(sizes),
    }, _refs(selection)))
    return ExportResult(len(indices), size, manifest_sha256, logged.index, pruned,
                        summary.outside_consent)


def _refs(selection: Selection) -> Refs:
    """An export's references: its selection's, so later bundles of it show the export."""
    return Refs(selection.tenant, selection.consent_id, selection.household_id,
                selection.recipient_id)


async def _write_inclusion(evidence: Evidence, bundle: _Zip, indices: array[int],
                           size: int) -> None:
    ranges = batch_ranges(indices, size)
    with bundle.stream(INCLUSION) as write:
        write(f'{{"tree_size": {size}, "nodes": [\n'.encode())
        for start in range(0, len(ranges), _RANGE_CHUNK):
            part = ranges[start:start + _RANGE_CHUNK]
            hashes = await evidence.log.range_hashes(part)
            write("".join(
                f'{"" if start + i == 0 else ","}[{lo}, {hi}, "{b64encode(h)}"]\n'
                for i, ((lo, hi), h) in enumerate(zip(part, hashes, strict=True))).encode())
        write(b"]}\n")


async def _chain_claims(evidence: Evidence, chains: Mapping[str, list[int]],
                        size: int) -> dict[str, dict[str, Any]]:
    """Per chain: first and last sequence number included and whether none is missing."""
    claims: dict[str, dict[str, Any]] = {}
    names = sorted(chains)
    async with evidence.log.db.engine.connect() as conn:
        for start in range(0, len(names), 500):
            rows = await conn.execute(
                select(ENTRY.c.chain, func.count()).where(
                    ENTRY.c.chain.in_(names[start:start + 500]), ENTRY.c.idx < size)
                .group_by(ENTRY.c.chain))
            for chain, count in rows:
                first, last, included = chains[chain]
                claims[chain] = {"first": first, "last": last,
                                 "complete": included == int(count) and first == 0}
    return claims


async def _write_documents(evidence: Evidence, bundle: _Zip, envelopes: Any,
                           include: bool) -> list[dict[str, str]]:
    """Each cited document once, read in the tenant of the record citing it; those not
    included are listed with why (one that no longer authenticates in the store is withheld,
    never exported altered)."""
    cited: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for envelope in envelopes:
        record = envelope["record"]
        for document in record.get("documents", []):
            cited.setdefault(document["id"], (str(record.get("tenant")), document))
    withheld = []
    for document_id, (tenant, ref) in sorted(cited.items()):
        reason = None if include else "documents not requested in this export"
        if reason is None:
            try:
                data = await evidence.blobs.get(document_id, tenant=tenant)
            except NotFound:
                reason = "erased from the document store"
            except DocumentTampered:
                reason = "altered in the document store (it does not authenticate)"
            except EvidenceUnavailable:  # after its subclass: the key, not the document
                reason = "sealed with a key this instance's keyring no longer holds"
        if reason is not None:
            withheld.append({"id": document_id, "sha256": ref["sha256"], "reason": reason})
            continue
        extension = EXTENSIONS.get(str(ref.get("media_type")), "bin")
        bundle.write(f"documents/{document_id}.{extension}", data)
    return withheld

