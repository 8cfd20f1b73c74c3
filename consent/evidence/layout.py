"""Where a batch of events lands in the evidence log, computed without the database: each
item's chain sequence number, leaf text and hash, index, and the perfect subtree nodes it
completes (RFC 6962, :class:`~consent.evidence.merkle.CompactRange`).

:func:`lay_out` is the integrator's one computation, whether it read the frontier under the
head's lock (:meth:`EvidenceLog._write_on <consent.evidence.log.EvidenceLog>`) or took the one
this process last committed (:meth:`EvidenceLog.plan_cached
<consent.evidence.log.EvidenceLog.plan_cached>`, a :class:`CachedAppend`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from consent.evidence.leaves import Prepared, leaf_text
from consent.evidence.merkle import CompactRange, leaf_hash


@dataclass(frozen=True, slots=True)
class Appended:
    """Where an event landed."""

    index: int
    leaf_hash: bytes
    seq: int | None


@dataclass(frozen=True, slots=True)
class CachedAppend:
    """An append laid out on this process's cached frontier (:meth:`EvidenceLog.plan_cached`):
    the ``evidence_log_entry`` and ``evidence_log_node`` rows, and the head's move from
    (``size_was``, ``root_was``) to (``new_size``, ``new_root``) at ``now``. Call ``committed``
    once they are durable."""

    size_was: int
    root_was: bytes
    new_size: int
    new_root: bytes
    now: str
    entries: list[dict[str, Any]]
    nodes: list[dict[str, Any]]
    results: list[Appended]
    committed: Callable[[], None]


@dataclass(frozen=True, slots=True)
class Laid:
    """The rows of one batch: ``evidence_log_entry`` and ``evidence_log_node``, by column."""

    entries: list[dict[str, Any]]
    nodes: list[dict[str, Any]]
    results: list[Appended]


def lay_out(compact: CompactRange, chains: dict[str, int], items: Sequence[Prepared],
            now: str) -> Laid:
    """Append ``items`` to ``compact`` and ``chains`` (both changed in place: pass copies of
    anything cached) and return the rows that record it; ``now`` is their ``logged_at``."""
    entries: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    results: list[Appended] = []
    for item in items:
        seq = None
        if item.event.chain is not None:
            seq = chains[item.event.chain] = chains.get(item.event.chain, -1) + 1
        leaf = leaf_text(item, seq)
        digest = leaf_hash(leaf.encode())
        index = compact.size
        nodes.extend({"level": lv, "idx": ix, "hash": h}
                     for lv, ix, h in compact.append(digest))
        refs = item.event.refs
        entries.append({
            "idx": index, "kind": item.event.kind, "at": item.at,
            "chain": item.event.chain, "seq": seq, "leaf": leaf, "leaf_hash": digest,
            "payload": item.payload, "payload_sha256": item.payload_sha256,
            "tenant": refs.tenant, "consent_id": refs.consent_id,
            "household_id": refs.household_id, "recipient_id": refs.recipient_id,
            "mandate_id": refs.mandate_id, "logged_at": now,
        })
        results.append(Appended(index, digest, seq))
    return Laid(entries, nodes, results)
