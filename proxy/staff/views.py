"""JSON shapes of the staff API: consents, mandates, proofs, events, requests (no meter data)."""

from __future__ import annotations

from typing import Any

from consent.models import (
    Consent,
    ConsentEvent,
    Mandate,
    MandateEvent,
    PrivilegedRequest,
    ProofDocument,
    StaffAction,
)
from consent.services.review_queue import WithPoints


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def consent_json(item: WithPoints) -> dict[str, Any]:
    """A consent as staff see it (terms and state, never data). ``view`` says whether the
    recipient may read the points on their own (``individual``) or only inside one
    community's aggregate (``community``, R4); ``community`` then names that community
    (``{"id", "name"}``), else it is ``null``."""
    consent = item.row
    assert isinstance(consent, Consent)
    community = None if consent.community_id is None else {
        "id": consent.community_id, "name": item.community_name}
    return {"type": "consent", "id": consent.id, "state": str(consent.state),
            "view": consent.view.value, "community": community,
            "household_id": consent.grantor_id, "recipient_id": consent.recipient_id,
            "mandate_id": consent.mandate_id, "purpose": str(consent.purpose),
            "datasets": sorted(consent.datasets), "points": [str(p) for p in item.points],
            "max_resolution": str(consent.max_resolution),
            "valid_from": _iso(consent.valid_from), "valid_until": _iso(consent.valid_until),
            "version": consent.version, "updated_at": _iso(consent.updated_at),
            "ended_at": _iso(consent.ended_at)}


def mandate_json(item: WithPoints) -> dict[str, Any]:
    """A mandate as staff see it."""
    mandate = item.row
    assert isinstance(mandate, Mandate)
    return {"type": "mandate", "id": mandate.id, "state": str(mandate.state),
            "household_id": mandate.mandator_id, "mandatary_id": mandate.mandatary_id,
            "scope": str(mandate.scope), "datasets": sorted(mandate.datasets),
            "points": [str(p) for p in item.points], "valid_from": _iso(mandate.valid_from),
            "valid_until": _iso(mandate.valid_until), "standing": mandate.valid_until is None,
            "version": mandate.version, "updated_at": _iso(mandate.updated_at),
            "ended_at": _iso(mandate.ended_at)}


def item_json(item: WithPoints) -> dict[str, Any]:
    """A consent or a mandate."""
    return mandate_json(item) if isinstance(item.row, Mandate) else consent_json(item)


def proof_json(proof: ProofDocument) -> dict[str, Any]:
    """A proof's metadata and review (the bytes are fetched separately)."""
    return {"id": proof.id, "kind": str(proof.kind), "media_type": proof.media_type,
            "size": proof.size_bytes, "sha256": proof.sha256,
            "review_state": str(proof.review_state), "uploaded_by": proof.uploaded_by,
            "uploaded_at": _iso(proof.created_at), "reviewed_by": proof.reviewed_by,
            "reviewed_at": _iso(proof.reviewed_at), "review_note": proof.review_note}


def event_json(event: ConsentEvent | MandateEvent) -> dict[str, Any]:
    """One transition: who (role, party, account, channel) did what, when, why."""
    return {"action": event.action, "from": event.from_state, "to": event.to_state,
            "actor_role": str(event.actor_role), "actor_party_id": event.actor_party_id,
            "actor_account_id": event.actor_account_id, "channel": str(event.channel),
            "reason": event.reason, "details": event.details, "at": _iso(event.at),
            "version": event.version}


def request_json(row: PrivilegedRequest) -> dict[str, Any]:
    """A privileged request and its decision."""
    return {"id": row.id, "kind": str(row.kind), "params": row.params, "reason": row.reason,
            "state": str(row.state), "requested_by": row.requested_by,
            "requested_at": _iso(row.created_at), "decided_by": row.decided_by,
            "decided_at": _iso(row.decided_at), "outcome": row.outcome}


def journal_json(row: StaffAction) -> dict[str, Any]:
    """One journal line."""
    return {"at": _iso(row.at), "account_id": row.account_id, "party_id": row.party_id,
            "roles": row.roles, "action": row.action, "target": row.target,
            "outcome": row.outcome, "detail": row.detail, "details": row.details}
