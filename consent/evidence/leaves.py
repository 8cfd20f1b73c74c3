"""What a leaf of the evidence log is (docs/evidence-format.md §Log entries).

Each leaf is the canonical JSON *header* of an event (docs/evidence-format.md §Log entries)::

    {"at": ..., "chain": ..., "kind": ..., "payload": "<sha256 hex of the payload>",
     "refs": {...}, "seq": ..., "v": 1}

so the payload can be pruned later (R17) while the leaf, and every proof, stays checkable.

:func:`prepare` canonicalises an event's payload in the appending task, so the integrator,
which holds the log's lock, only hashes; :func:`leaf_text` is the header it hashes once it knows
the event's place in its chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consent.evidence.canonical import canonical, format_instant, sha256_hex
from consent.evidence.events import LogEvent

LEAF_VERSION = 1


@dataclass(frozen=True, slots=True)
class Prepared:
    """An event ready to integrate: its instant and canonical payload, and that payload's
    digest (what the leaf holds)."""

    event: LogEvent
    at: str
    payload: str
    payload_sha256: str


def prepare(event: LogEvent) -> Prepared:
    """Canonicalise the payload (in the caller's task, so the integrator only hashes)."""
    payload = canonical(dict(event.payload)).decode()
    return Prepared(event, format_instant(event.at), payload, sha256_hex(payload.encode()))


def leaf_text(item: Prepared, seq: int | None) -> str:
    header: dict[str, Any] = {"v": LEAF_VERSION, "kind": item.event.kind, "at": item.at,
                              "refs": item.event.refs.to_json(), "payload": item.payload_sha256}
    if item.event.chain is not None:
        header["chain"], header["seq"] = item.event.chain, seq
    return canonical(header).decode()
