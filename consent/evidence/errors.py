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
        └── LogForked (500 evidence-log-forked)         the log does not extend the last
                                                        head this instance signed
"""

from __future__ import annotations

from consent.errors import Conflict, DomainError, PasserelleError


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
