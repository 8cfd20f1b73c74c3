"""The checkpoints a proof bundle carries (docs/evidence-format.md §5) and the checkpoints an
auditor asks it to carry.

Every bundle holds its anchor (the checkpoint of the head at export time), the checkpoints that
first covered each of its signed records and the one just before the anchor, each with its RFC
9162 §2.1.4 consistency proof to the anchor. An auditor may also name tree sizes
(``--checkpoint-size`` on the command line, ``checkpoint_sizes`` over the audit API): the anchors
they kept from earlier bundles. The stored checkpoints of those sizes are added the same way, as
more entries of ``checkpoints/index.json`` (format 1 unchanged), so the offline verifier can
compare each kept checkpoint with the server's of the same size (``verify --checkpoint``,
§10 step 3): two signed checkpoints of one size with different roots prove that the log was
rewritten (§11).

A requested size is only ever looked up, never signed now: signing one would be the server
vouching for whatever its database holds today at that size, which is exactly the fork to be
detected. A size with no stored checkpoint, or beyond the head, fails the export
(:class:`~consent.evidence.errors.MissingCheckpoint`): Passerelle deletes no checkpoint it
signed, so an auditor holding one of a size the server no longer has is looking at a log that
lost it or was rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from consent.errors import DomainError
from consent.evidence.canonical import b64encode, format_instant
from consent.evidence.errors import MissingCheckpoint
from consent.evidence.events import AUDIT_EXPORT_REFUSED, LogEvent, Refs

if TYPE_CHECKING:
    from consent.evidence.checkpoints import SignedCheckpoint
    from consent.evidence.service import Evidence

CHECKPOINTS = "checkpoints/index.json"
#: Most automatically chosen checkpoints besides the anchor (the latest are kept).
MAX_PREVIOUS_CHECKPOINTS = 32
#: Most tree sizes an auditor may ask for in one export (bounds the bundle and the lookups).
MAX_REQUESTED_CHECKPOINTS = 64
#: Largest tree size that can be asked (a BIGINT column).
_MAX_SIZE = 2**63 - 1


class _Writer(Protocol):
    def write(self, name: str, data: bytes) -> None: ...

    def write_json(self, name: str, value: Any) -> None: ...


def checked_sizes(sizes: Sequence[object], field: str = "checkpoint_sizes") -> tuple[int, ...]:
    """The distinct requested tree sizes, in increasing order; a :class:`DomainError` (400,
    naming ``field``) if more than :data:`MAX_REQUESTED_CHECKPOINTS` are asked or one is not a
    whole number (a boolean is not one)."""
    if len(sizes) > MAX_REQUESTED_CHECKPOINTS:
        raise DomainError(f"At most {MAX_REQUESTED_CHECKPOINTS} checkpoint sizes may be asked "
                          f"in one export, not {len(sizes)}.", field=field)
    distinct: set[int] = set()
    for value in sizes:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SIZE:
            raise DomainError(f"{field} must hold whole numbers (tree sizes), not {value!r:.40}.",
                              field=field)
        distinct.add(value)
    return tuple(sorted(distinct))


async def requested_checkpoints(evidence: Evidence, sizes: Sequence[int],
                                anchor: SignedCheckpoint) -> list[SignedCheckpoint]:
    """The stored checkpoints of ``sizes`` (the anchor's own size is the anchor, left out);
    :class:`MissingCheckpoint` for a size beyond the anchor or with no stored checkpoint."""
    found = []
    for size in checked_sizes(sizes):
        if size > anchor.size:
            raise MissingCheckpoint(
                f"No checkpoint of size {size} can be exported: the log's head is {anchor.size} "
                "entries. If you kept a checkpoint of that size from this log, it has since "
                "been rolled back: that is itself evidence of tampering (docs/evidence-"
                "format.md §11).", size=size, anchor_size=anchor.size)
        if size == anchor.size:
            continue
        stored = await evidence.checkpoints.at_size(size)
        if stored is None:
            raise MissingCheckpoint(
                f"No signed checkpoint of size {size} is stored. Passerelle deletes none it "
                "signed: if you kept one of that size from this log, its absence is itself "
                "evidence of tampering (docs/evidence-format.md §11).", size=size,
                anchor_size=anchor.size)
        found.append(stored)
    return found


async def requested_or_refused(evidence: Evidence, sizes: Sequence[int],
                               anchor: SignedCheckpoint, *, actor: str,
                               selection: dict[str, Any], refs: Refs) -> list[SignedCheckpoint]:
    """:func:`requested_checkpoints`; a refusal (:class:`MissingCheckpoint`) is logged before
    it is raised, as its own kind (``audit.export.refused``: who asked, for which selection,
    which sizes, the first one missing, the head): the auditor holds a checkpoint the log no
    longer does, possibly the first sign of a log rolled back or rewritten (module docstring),
    and the operator must be able to see that an auditor was refused (R18)."""
    try:
        return await requested_checkpoints(evidence, sizes, anchor)
    except MissingCheckpoint as refused:
        await evidence.log.append(LogEvent(AUDIT_EXPORT_REFUSED, evidence.clock.now(), {
            "actor": actor, "selection": selection, "checkpoint_sizes": list(sizes),
            "missing": refused.extra.get("size"), "anchor_size": anchor.size}, refs))
        raise


async def write_checkpoints(evidence: Evidence, bundle: _Writer, anchor: SignedCheckpoint,
                            record_indices: list[int],
                            requested: Sequence[SignedCheckpoint] = ()) -> None:
    """Write the anchor, the checkpoints that first covered each record, the one before the
    anchor (at most :data:`MAX_PREVIOUS_CHECKPOINTS` of these, the latest) and every
    ``requested`` one, each with its consistency proof to the anchor, and the index."""
    checkpoints = evidence.checkpoints
    previous = await checkpoints.first_covering(record_indices, anchor.size)
    before = await checkpoints.before(anchor.size)
    if before is not None:
        previous.append(before)
    automatic = sorted({cp.size: cp for cp in previous}.values(), key=lambda cp: cp.size)
    # The auditor's sizes are never cut: they are what the bundle was asked to be judged by.
    by_size = {cp.size: cp for cp in automatic[-MAX_PREVIOUS_CHECKPOINTS:]}
    by_size.update({cp.size: cp for cp in requested if cp.size != anchor.size})
    index = []
    for cp in [*(by_size[size] for size in sorted(by_size)), anchor]:
        name = f"checkpoints/{cp.size}.note"
        bundle.write(name, cp.note.encode())
        proof = await evidence.log.consistency_proof(cp.size, anchor.size)
        index.append({"file": name, "size": cp.size, "issued_at": format_instant(cp.issued_at),
                      "kid": cp.kid, "anchor": cp is anchor,
                      "consistency": [b64encode(h) for h in proof]})
    bundle.write_json(CHECKPOINTS, {"anchor": f"checkpoints/{anchor.size}.note",
                                    "checkpoints": index})
