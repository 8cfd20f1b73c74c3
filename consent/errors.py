"""The one error tree of Passerelle.

Every error raised on purpose by Passerelle derives from :class:`PasserelleError`. Each class
knows the HTTP status it maps to and a stable ``code``: the RFC 9457 problem ``type`` slug for the
APIs, or the RFC 6749/6750 ``error`` value for OAuth endpoints. Foreign exceptions (SQLAlchemy,
aiohttp, authlib, upstream DSOs) are translated into this tree at the boundary that meets them, so
callers handle one hierarchy and the HTTP edge renders it without guessing.

::

    PasserelleError (500 internal-error)
    ├── DomainError (400 invalid-input)
    │   ├── InvalidIdentifier (400 invalid-identifier)
    │   ├── InvalidPeriod (400 invalid-period)
    │   ├── UnknownVocabulary (400 unknown-vocabulary)
    │   ├── IllegalTransition (409 illegal-transition)
    │   ├── ResolutionUnavailable (400 resolution-unavailable)
    │   ├── NotPermitted (403 not-permitted)      actor may not do this to that object
    │   ├── NotFound (404 not-found)
    │   └── Conflict (409 conflict)
    │       ├── ConcurrentUpdate (409 concurrent-update)
    │       └── AlreadyAnswered (409 already-answered)  an authorization request, twice
    ├── AccessDenied (403 access-denied)          consent checks: names the rule that denied
    ├── storage.database.DatabaseUnavailable (503)  connection lost: the edge answers 503
    ├── adapters.errors.UpstreamError (502 upstream-error)   the DSO could not serve
    │   ├── UpstreamUnavailable (503) > UpstreamRateLimited (503, never a 429 passed on)
    │   ├── UpstreamTimeout (504), UpstreamMalformed (502, names the field),
    │   │   UpstreamCredentialsRejected (502)
    │   ├── UpstreamDenied (403 upstream-authorisation), UpstreamRejected (409),
    │   │   UnknownPoint (404), NoData (404)
    │   ├── PeriodNotServed (400) > BeyondHistory, BeforeMoveIn, NotYetAvailable,
    │   │   WindowTooLong
    │   └── Unsupported (501) > UnsupportedDataset (400), UnsupportedResolution (400)
    └── proxy.errors.*                            OAuth and HTTP-edge errors, see proxy/errors.py

The full list with codes is in ``docs/errors.md``.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE_URI = "https://passerelle.dev/problems/"


class PasserelleError(Exception):
    """Base of every deliberate Passerelle error.

    ``detail`` is written for a person and must never contain a secret. ``extra`` holds
    machine-readable members added to the problem+json body (RFC 9457 §3.2 extension members).
    """

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra: dict[str, Any] = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """Render as an RFC 9457 problem object."""
        body: dict[str, Any] = {
            "type": PROBLEM_BASE_URI + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            body["instance"] = instance
        body.update(self.extra)
        return body


class DomainError(PasserelleError):
    """Input that the domain rejects: nothing was written."""

    status = 400
    code = "invalid-input"
    title = "Invalid input"


class InvalidIdentifier(DomainError):
    """A metering-point or party identifier does not match its source's format."""

    code = "invalid-identifier"
    title = "Invalid identifier"


class InvalidPeriod(DomainError):
    """A period is empty, reversed, unbounded where a bound is required, or beyond a cap."""

    code = "invalid-period"
    title = "Invalid period"


class UnknownVocabulary(DomainError):
    """A source, dataset, resolution, purpose or legal basis that Passerelle does not know."""

    code = "unknown-vocabulary"
    title = "Unknown term"


class ResolutionUnavailable(DomainError):
    """The data exists only at a coarser resolution than the one asked for."""

    code = "resolution-unavailable"
    title = "Resolution unavailable"


class IllegalTransition(DomainError):
    """A state machine was asked for a transition its current state does not allow.

    ``from_state`` and ``to_state`` name the refused move (also as problem members), ``action``
    the verb that asked for it.
    """

    status = 409
    code = "illegal-transition"
    title = "Illegal state transition"

    def __init__(self, detail: str, *, from_state: str, to_state: str, action: str,
                 **extra: Any) -> None:
        super().__init__(detail, from_state=from_state, to_state=to_state, action=action, **extra)
        self.from_state = from_state
        self.to_state = to_state
        self.action = action


class NotPermitted(DomainError):
    """The actor's role may not perform this action on this object (R19 least privilege)."""

    status = 403
    code = "not-permitted"
    title = "Not permitted"


class NotFound(DomainError):
    """The named object does not exist (or is not visible to the caller: same answer, R24)."""

    status = 404
    code = "not-found"
    title = "Not found"


class MethodNotAllowed(DomainError):
    """The path exists, but not for this HTTP method (RFC 9110 §15.5.6); ``allow`` lists those
    it has, sent as the ``Allow`` header."""

    status = 405
    code = "method-not-allowed"
    title = "Method not allowed"

    def __init__(self, detail: str, *, allow: str, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.allow = allow

    def response_headers(self) -> dict[str, str]:
        return {"Allow": self.allow}


class Conflict(DomainError):
    """The write conflicts with existing state (duplicate, concurrent change)."""

    status = 409
    code = "conflict"
    title = "Conflict"


class ConcurrentUpdate(Conflict):
    """Someone changed the object since it was read (optimistic concurrency): reload, retry."""

    code = "concurrent-update"
    title = "Changed concurrently"


class AlreadyAnswered(Conflict):
    """The authorization request was answered already (its form submitted twice): nothing new
    is written. The OAuth edge answers the client ``access_denied`` (docs/oauth.md)."""

    code = "already-answered"
    title = "Already answered"


class AccessDenied(PasserelleError):
    """A consent check denied the request.

    ``rule`` names the check that denied (for example ``"R8 occupancy"``) and ``allowed``,
    when known, says what would have been allowed, so a recipient can correct its request.
    """

    status = 403
    code = "access-denied"
    title = "Access denied by consent"

    def __init__(self, detail: str, *, rule: str, allowed: Any = None, **extra: Any) -> None:
        super().__init__(detail, rule=rule, **({"allowed": allowed} if allowed is not None else {}),
                         **extra)
        self.rule = rule
        self.allowed = allowed
