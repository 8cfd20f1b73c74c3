"""The verifier's vocabulary checks: what a leaf, a signed record or an access may say, and
which record files and documents a bundle may hold (docs/evidence-format.md §6, §8). Pure; see
:mod:`consent.evidence.verify_log`, which calls these for each entry.

The verifier fails closed: a word it does not know (a record ``v`` 2, a state or action not of
format 1, an access ``outcome`` of ``Served``) is a problem, never read as the nearest known
one, since the judgement of accesses depends on it. And what a leaf says (its instant, its
references) is what the entry is selected, ordered and judged by, so the payload must say the
same: coverage never judges an access by a time or a consent its leaf does not carry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from consent.evidence.coverage import INDIVIDUAL_VIEW, VIEWS
from consent.evidence.events import (
    ACCESS,
    ADMIN,
    AUDIT_EXPORT,
    AUDIT_EXPORT_REFUSED,
    CONSENT_RECORD,
    KEY_ROTATED,
    MANDATE_RECORD,
    OUTCOMES,
    REF_NAMES,
    RETENTION,
)
from consent.evidence.verify_members import Members
from consent.lifecycle import ConsentAction, ConsentState, MandateAction, MandateState

KINDS = frozenset({CONSENT_RECORD, MANDATE_RECORD, ACCESS, ADMIN, AUDIT_EXPORT,
                   AUDIT_EXPORT_REFUSED, KEY_ROTATED, RETENTION})
RECORD_TYPES = {CONSENT_RECORD: "consent", MANDATE_RECORD: "mandate"}
RECORD_VERSION = 1
_VOCABULARY = {
    "consent": (frozenset(ConsentAction), frozenset(ConsentState)),
    "mandate": (frozenset(MandateAction), frozenset(MandateState)),
}


def _refs_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The references a record's leaf carries (``Refs`` of :mod:`consent.evidence.records`)."""
    recipient = record.get("recipient")
    refs = {"tenant": record.get("tenant"), "household_id": record.get("household_id"),
            "mandate_id": record.get("mandate_id")}
    if record.get("type") == "consent":
        refs["consent_id"] = record.get("consent_id")
        refs["recipient_id"] = recipient.get("id") if isinstance(recipient, dict) else None
    return refs


def _differs(refs: Mapping[str, Any], said: Mapping[str, Any]) -> list[str]:
    return [name for name in REF_NAMES if refs.get(name) != said.get(name)]


def record_problem(kind: str, header: Mapping[str, Any], record: Mapping[str, Any]) -> str | None:
    """Why a signed record does not fit its leaf or format 1, or ``None``."""
    kind_type = RECORD_TYPES[kind]
    if record.get("type") != kind_type:
        return f"a {kind} entry holds a record of type {record.get('type')!r}"
    if record.get("v") != RECORD_VERSION:
        return f"unknown record version {record.get('v')!r}"
    actions, states = _VOCABULARY[kind_type]
    if record.get("action") not in actions or record.get("state") not in states:
        return (f"unknown action or state {record.get('action')!r} -> "
                f"{record.get('state')!r}")
    subject = "consent_id" if kind_type == "consent" else "mandate_id"
    if (record.get("at") != header["at"]
            or header.get("chain") != f"{kind_type}:{record.get(subject)}"):
        return "the signed record does not match its leaf (type, time, id)"
    differs = _differs(header["refs"], _refs_of(record))
    if differs:
        return f"the signed record's {', '.join(differs)} differ from its leaf's references"
    if kind_type == "consent":
        # Absent from records signed before R4's view was recorded: individual (coverage.py).
        view, community = record.get("view", INDIVIDUAL_VIEW), record.get("community_id")
        if view not in VIEWS:
            return f"unknown consent view {view!r}"
        if community is not None and not isinstance(community, str):
            return f"a community_id that is not text: {community!r:.40}"
    return None


def access_problem(header: Mapping[str, Any], access: Mapping[str, Any]) -> str | None:
    """Why an access payload does not fit its leaf or format 1, or ``None``."""
    if access.get("outcome") not in OUTCOMES:
        return f"unknown access outcome {access.get('outcome')!r}"
    if access.get("at") != header["at"]:
        return f"the access says {access.get('at')!r}, its leaf {header['at']}"
    differs = _differs(header["refs"], access)
    if differs:
        return f"the access's {', '.join(differs)} differ from its leaf's references"
    community = access.get("community_id")
    if community is not None and not isinstance(community, str):
        return f"a community_id that is not text: {community!r:.40}"
    return None


def file_problems(members: Members, records: Iterable[Mapping[str, Any]],
                  record_hashes: set[str],
                  withheld: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Record files that are not logged records; documents not cited, cited but missing,
    or differing from what the record cites."""
    problems = []
    documents: dict[str, list[str]] = {}
    for name in members.limits:
        if name.startswith("records/") and members.sha256(name) not in record_hashes:
            problems.append((name, "not one of the signed records in the log"))
        elif name.startswith("documents/"):
            documents.setdefault(name[len("documents/"):].rsplit(".", 1)[0], []).append(name)
    held = {str(d.get("id")): d for d in withheld}
    cited: set[str] = set()
    for record in records:
        for ref in record.get("documents", []):
            document_id = str(ref["id"])
            cited.add(document_id)
            files = documents.get(document_id, [])
            if len(files) > 1:
                problems.append((f"document {document_id}", "held more than once"))
            elif files:
                if members.sha256(files[0]) != ref.get("sha256"):
                    problems.append((files[0], "differs from the document the record cites"))
            elif held.get(document_id, {}).get("sha256") != ref.get("sha256"):
                problems.append((f"document {document_id}", "cited by a record but missing"))
    for document_id, files in documents.items():
        if document_id not in cited:  # a bundle holds only what its records cite
            problems += [(name, "cited by no record of the bundle") for name in files]
    return problems
