"""Errors of the evidence subsystem, in Passerelle's one error tree (consent/errors.py).

::

    DomainError (400)
    ├── RejectedDocument (415 rejected-document)     upload refused, nothing kept (R2)
    │   └── DocumentTooLarge (413 document-too-large)
    ├── InvalidRecord (400 invalid-record)           a record lacks what it must show
    ├── InvalidSelection (400 invalid-selection)     a bundle selection names nothing
    └── Conflict (409)
        └── MissingCheckpoint (409 missing-checkpoint)  a kept checkpoint's size is not held
    PasserelleError (500)
    └── EvidenceUnavailable (503 evidence-unavailable)  no key, no secret, storage fault
        ├── DocumentTampered (500 document-tampered)    a stored document does not authenticate
        ├── LogForked (500 evidence-log-forked)         the log does not extend the last
        │                                               head this instance signed
        ├── KeyringCannotOpen                           the keyring cannot open a sealed secret
        └── SigningInstantRefused                       no key may sign at that instant (clock)

The last two answer as their parent does; they exist so that whoever must tell
an operator what to fix (a replica refusing to start, ``/readyz``) names the right thing: the
keys given to the replica, or its clock.
"""

from __future__ import annotations

from typing import Literal

from consent.errors import Conflict, DomainError, PasserelleError

#: Why evidence cannot be signed, as an operator must hear it (:func:`cause_of`).
Cause = Literal["keys", "clock", "log"]


class RejectedDocument(DomainError):
    """A proof document upload was refused (type, content or size); nothing was stored."""

    status = 415
    code = "rejected-document"
    title = "Document refused"


class DocumentTooLarge(RejectedDocument):
    """A proof document is larger than the configured limit."""

    status = 413
    code = "document-too-large"
    title = "Document too large"


class InvalidRecord(DomainError):
    """A consent or mandate record lacks what it must show (notice, authentication...)."""

    code = "invalid-record"
    title = "Invalid evidence record"


class InvalidSelection(DomainError):
    """A proof-bundle selection is empty, contradictory or malformed."""

    code = "invalid-selection"
    title = "Invalid bundle selection"


class MissingCheckpoint(Conflict):
    """A bundle was asked to carry the stored checkpoint of a tree size that the log holds no
    signed checkpoint of, or that is beyond its head (docs/evidence-format.md §11). Passerelle
    deletes no checkpoint it signed: an auditor who kept one of that size is looking at a log
    that lost it, or that was rolled back below it."""

    code = "missing-checkpoint"
    title = "No signed checkpoint of that size"


class EvidenceUnavailable(PasserelleError):
    """Evidence cannot be written or read now: no signing key, no secret, storage fault."""

    status = 503
    code = "evidence-unavailable"
    title = "Evidence unavailable"


class KeyringCannotOpen(EvidenceUnavailable):
    """The evidence keyring cannot open a secret sealed with it: it lacks the key that sealed
    it (a replica not given the instance's ``PASSERELLE_EVIDENCE_KEYS``), or the key or the
    sealed bytes differ from those it was sealed with."""


class SigningInstantRefused(EvidenceUnavailable):
    """No key may sign at the instant asked: none is valid then (the current key opens later:
    this clock is behind the one of the replica that opened it), or the instant is too far from
    the key store's clock (no backdating into a retired key, :mod:`.keystore`)."""


class DocumentTampered(EvidenceUnavailable):
    """A stored proof document does not authenticate: its sealed bytes, its key id, its tenant
    or its id were changed after it was sealed (or sealed bytes were copied onto another
    document). Its bytes are never returned; retrying does not help, restoring does."""

    status = 500
    code = "document-tampered"
    title = "Stored document altered"


class LogForked(EvidenceUnavailable):
    """The log in the database does not extend the last head this instance signed: entries
    and the tree above them were rewritten, or the database rolled back
    (:mod:`consent.evidence.witness`). Nothing is signed until an operator investigates."""

    status = 500
    code = "evidence-log-forked"
    title = "Evidence log rewritten or rolled back"


def cause_of(error: EvidenceUnavailable) -> Cause:
    """What to fix when ``error`` stops signing: the keys a replica was given, its clock, or
    (anything else: the database, the log's stored state) the evidence log."""
    if isinstance(error, KeyringCannotOpen):
        return "keys"
    if isinstance(error, SigningInstantRefused):
        return "clock"
    return "log"
