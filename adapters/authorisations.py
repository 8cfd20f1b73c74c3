"""What adapters saw of an upstream authorisation, as a report for the R9 cascade.

:func:`report_of` reads a re-check's :class:`~adapters.base.UpstreamAuthorisation`;
:func:`report_of_denial` reads a refusal met on a data call (Enedis ``ADAM-DC-0007``, ADICT's
"the client seems to have moved"...). Both give a :class:`consent.cascade.UpstreamReport` (or
``None`` when there is nothing the cascade should act on); the proxy hands it to
:class:`consent.cascade.UpstreamCascade`.
"""

from __future__ import annotations

from adapters.base import UpstreamAuthorisation
from adapters.errors import UpstreamDenied
from consent.cascade import EndCause, UpstreamReport
from consent.identifiers import PointRef
from consent.upstream import UpstreamState

#: ``reason`` of an :class:`UpstreamDenied` (Enedis and GRDF adapters) -> state and cause.
_DENIALS: dict[str, tuple[UpstreamState, EndCause]] = {
    "not-holder": (UpstreamState.ENDED, EndCause.NOT_HELD),
    "no-consent": (UpstreamState.REVOKED, EndCause.REVOKED),
    "revoked": (UpstreamState.REVOKED, EndCause.REVOKED),
    "expired": (UpstreamState.ENDED, EndCause.EXPIRED),
    "obsolete": (UpstreamState.ENDED, EndCause.NOT_HELD),
    "proof-invalid": (UpstreamState.SUSPENDED, EndCause.SUSPENDED),
}


def report_of(authorisation: UpstreamAuthorisation | None) -> UpstreamReport | None:
    """The report of a re-check; ``None`` when the DSO lists no authorisation for the point.

    ADICT's ``Obsolète`` means the holder changed or the right ran out; Data Connect's
    ``TERMINE`` that the consent's period is over or the holder moved: the first is reported as
    the household no longer holding the point, the second as an expiry.
    """
    if authorisation is None:
        return None
    cause = EndCause.NOT_HELD if authorisation.upstream_state == "Obsolète" else None
    return UpstreamReport(authorisation.point, authorisation.upstream_id, authorisation.state,
                          cause, authorisation.upstream_state)


def report_of_denial(point: PointRef, upstream_id: str,
                     denied: UpstreamDenied) -> UpstreamReport | None:
    """The report of a refusal met on a data call, when the refusal says why."""
    known = _DENIALS.get(str(denied.extra.get("reason", "")))
    if known is None:
        return None
    state, cause = known
    code = denied.extra.get("upstream_code")
    return UpstreamReport(point, upstream_id, state, cause, str(code) if code else None)
