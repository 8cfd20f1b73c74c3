"""Data Connect error answers -> the adapter error tree.

Both error shapes occur, even within the 2026 generation: ``{"code", "message"}`` (2026
swaggers) and ``{"error", "error_description"}`` (v5; still used for ``ADAM-ERR0123`` in 2026).
Codes win over HTTP statuses because Enedis is known to send a code with an unexpected status:
``ADAM-DC-0007`` "Le client n'est pas titulaire du point demandé" comes as **400**, not the
documented 403. Where no code is known, a few stable phrases and then the status decide. The
error's ``detail`` is ours; the upstream code travels as ``upstream_code`` (it is not personal
data), the upstream message never does.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.decode import json_value
from adapters.errors import (
    BeforeMoveIn,
    BeyondHistory,
    NoData,
    NotYetAvailable,
    PeriodNotServed,
    UnknownPoint,
    UnsupportedDataset,
    UpstreamCredentialsRejected,
    UpstreamDenied,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
    WindowTooLong,
)
from adapters.transport import Reply

#: Why a point was denied, for the R9 cascade: the household no longer holds it.
NOT_HOLDER = "not-holder"
#: ... or the operator's consent is gone (revoked or expired at Enedis).
NO_CONSENT = "no-consent"

#: What an error code looks like (``ADAM-DC-0008``, ``STM-ERR-0000019``, ``invalid_client``):
#: anything else in its place (a URL with a token, a customer's name) is not a code, and is
#: neither matched nor passed on to a recipient as ``upstream_code``.
_CODE = re.compile(r"[A-Za-z0-9_.-]{1,32}")

_NOT_HOLDER_CODES = {"ADAM-DC-0007", "ADAM_DC_0007"}
_NO_CONSENT_CODES = {"ADAM-DC-0008", "ADAM_DC_0008", "unauthorized_user"}


def _fields(reply: Reply) -> tuple[str, str]:
    try:
        body: Any = json_value(reply.body)
    except ValueError:
        return "", ""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]  # the swagger's Erreur type is an array of {code, message}
    if not isinstance(body, dict):
        return "", ""
    code = body.get("code", body.get("error", ""))
    message = body.get("message", body.get("error_description", ""))
    code = str(code) if isinstance(code, str | int) else ""
    return (code if _CODE.fullmatch(code) else "",
            message if isinstance(message, str) else "")


def _by_code(code: str, shown: dict[str, Any]) -> UpstreamError | None:
    if code in _NOT_HOLDER_CODES:
        return UpstreamDenied("Enedis says the customer no longer holds this point.",
                              reason=NOT_HOLDER, **shown)
    if code in _NO_CONSENT_CODES:
        return UpstreamDenied("Enedis holds no valid consent of this customer for this point.",
                              reason=NO_CONSENT, **shown)
    if code == "900908":
        return UpstreamCredentialsRejected("The operator's DataHub application is not "
                                           "subscribed to this Enedis API.", **shown)
    if code == "ADAM-ERR0123":
        return BeforeMoveIn("The period starts before the point's last activation (move-in).",
                            **shown)
    if code in ("ADAM-DC-0016", "ADAM-ERR0125"):
        return BeyondHistory("The period starts before Enedis's history limit.", **shown)
    if code == "ADAM-DC-0015":
        return WindowTooLong("Enedis serves at most 7 days of load curve per call.", **shown)
    if code == "ADAM-DC-0009":
        return PeriodNotServed("The period starts before the consent's start.", **shown)
    if code == "ADAM-ERR0126":  # the swagger's "customer objected to the load curve recording"
        return NoData("The customer objected to the recording of the load curve: Enedis holds "
                      "none for this point.", **shown)
    if code == "ADAM-ERR0069":
        return UnsupportedDataset("This point does not meter that direction.", **shown)
    return None


def classify(reply: Reply) -> UpstreamError:
    """The adapter error for a non-success Data Connect answer (see the module docstring)."""
    code, message = _fields(reply)
    text = message.lower()
    status = reply.status
    shown: dict[str, Any] = {"upstream_code": code} if code else {}
    if status == 429:
        return UpstreamRateLimited("Enedis says the application's quota is reached.",
                                   retry_after=reply.retry_after, **shown)
    known = _by_code(code, shown)
    if known is not None:
        return known
    if "pas titulaire" in text or "not owner" in text:
        return UpstreamDenied("Enedis says the customer no longer holds this point.",
                              reason=NOT_HOLDER, **shown)
    if status in (500, 502, 503):
        return UpstreamUnavailable(f"Enedis failed (HTTP {status}).",
                                   retry_after=reply.retry_after, **shown)
    if status == 504:
        return UpstreamTimeout("Enedis's gateway timed out (HTTP 504).", **shown)
    if status == 404:
        if code.startswith("STM-ERR-0000019") or "non existant" in text or "inconnu" in text \
                or "unknown" in text:
            return UnknownPoint("Enedis does not know this point.", **shown)
        return NoData("Enedis has no measure for this point over that period.", **shown)
    if status == 403 or "consent" in text or "autoris" in text:
        return UpstreamDenied("Enedis refused access to this point.", reason=NO_CONSENT, **shown)
    if status == 400 and ("date de fin" in text or "end date" in text):
        return NotYetAvailable("Enedis serves data up to the day before today.", **shown)
    return UpstreamError(f"Enedis refused the request (HTTP {status}"
                         f"{', ' + code if code else ''}).", **shown)
