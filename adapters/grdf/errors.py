"""ADICT refusals -> the adapter error tree.

ADICT refuses in two ways. With an HTTP error status and a status body (``{code_statut_traitement,
message_retour_traitement}``, or an NDJSON line whose ``statut_restitution`` has ``{code,
message}``): :func:`classify`. And, for reads the operator may not make, with **HTTP 200** and a
line whose ``statut_restitution`` explains why (the holder moved, revoked, the right expired...):
:func:`restitution`. Codes are not published, so the documented French messages decide, matched
on stable words; anything unrecognised is a plain :class:`UpstreamError`, never a crash. The
message itself is not passed on; ``reason`` carries a stable slug.
"""

from __future__ import annotations

from typing import Any

from adapters.decode import json_value
from adapters.errors import (
    BeyondHistory,
    NoData,
    NotYetAvailable,
    UnknownPoint,
    UpstreamCredentialsRejected,
    UpstreamDenied,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.transport import Reply

#: (words, reason) of the 409 answers to declarations, proofs and revocations.
_REJECTIONS = (
    (("code postal",), "postal-code-mismatch"),
    (("existe déjà",), "already-exists"),
    (("échu",), "supply-contract-ended"),
    (("3 preuves",), "too-many-proofs"),
    (("4mo",), "proof-too-large"),
    (("format autorisé",), "proof-format"),
    (("corrompues",), "proof-corrupted"),
    (("ne demande pas de preuve",), "proof-not-required"),
    (("en attente de la validation",), "pending-validation"),
    (("révoqué",), "revoked"),
    (("date",), "dates"),
    (("n'existe pas",), "no-such-right"),
)
#: (words, reason) of refused reads (HTTP 200 + ``statut_restitution``), checked in order.
_DENIALS = (
    (("déménagé", "plus titulaire"), "not-holder"),
    (("a expiré",), "expired"),
    (("révoqué",), "revoked"),
    (("preuve",), "proof-invalid"),
    (("obsolète",), "obsolete"),
    (("périmètre",), "outside-perimeter"),
    (("pas autorisé", "plus autorisé", "aucun droit"), "no-right"),
)


def _message(body: bytes) -> str:
    """The status message of an error body, whatever its form (JSON, NDJSON, nothing)."""
    for line in reversed(body.decode("utf-8", "replace").splitlines()):
        try:
            doc: Any = json_value(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            inner = doc.get("statut_restitution")
            if isinstance(inner, dict) and isinstance(inner.get("message"), str):
                return str(inner["message"])
            if isinstance(doc.get("message_retour_traitement"), str):
                return str(doc["message_retour_traitement"])
    return ""


def _slug(text: str, table: tuple[tuple[tuple[str, ...], str], ...]) -> str | None:
    lowered = text.lower()
    for words, slug in table:
        if any(w in lowered for w in words):
            return slug
    return None


def restitution(message: str) -> UpstreamError:
    """The error a ``statut_restitution`` message means (sent with HTTP 200)."""
    lowered = message.lower()
    if "pas de données" in lowered:
        return NoData("ADICT has no data for this PCE over that period.")
    if "retenter" in lowered or "erreur" in lowered:
        return UpstreamUnavailable("ADICT failed on part of the period; try again.")
    if "contrat grdf adict" in lowered or "suspendus" in lowered:
        return UpstreamCredentialsRejected("GRDF suspended or ended the operator's ADICT "
                                           "contract.")
    reason = _slug(message, _DENIALS)
    if reason is not None:
        return UpstreamDenied("ADICT refuses to serve this PCE's data to the operator.",
                              reason=reason)
    return UpstreamError("ADICT refused the read for an unrecognised reason.")


def classify(reply: Reply) -> UpstreamError:
    """The adapter error for a non-success ADICT answer."""
    status = reply.status
    message = _message(reply.body)
    lowered = message.lower()
    if status == 429:
        return UpstreamRateLimited("ADICT says the operator sends too many requests.",
                                   retry_after=reply.retry_after)
    if status in (500, 502, 503):
        return UpstreamUnavailable(f"ADICT failed (HTTP {status}).",
                                   retry_after=reply.retry_after)
    if status == 504:
        return UpstreamTimeout("ADICT's gateway timed out (HTTP 504).")
    if status == 409:
        return UpstreamRejected("ADICT refused the request as it stands.",
                                reason=_slug(message, _REJECTIONS) or "rejected")
    if status == 404:
        if "pce" in lowered:
            return UnknownPoint("GRDF does not know this PCE.")
        return _not_found()
    if status == 400:
        if "3 ans" in lowered:
            return BeyondHistory("ADICT serves three years of history.")
        if "date du jour" in lowered:
            return NotYetAvailable("ADICT serves data up to the last complete gas day.")
        if "identifiant du pce" in lowered or "format du pce" in lowered:
            return UnknownPoint("ADICT refuses this PCE identifier.")
    if status == 403:
        return UpstreamCredentialsRejected("ADICT refused the operator's access (HTTP 403).")
    return UpstreamError(f"ADICT refused the request (HTTP {status}).")


def _not_found() -> UpstreamError:
    # "Aucun droit d'accès trouvé": the id names nothing at GRDF. The adapter turns it into
    # the domain's NotFound (a caller's mistake, not an upstream failure).
    return UpstreamError("ADICT found no such droit d'accès.", reason="not-found")

