"""Errors as Data Connect v5 writes them: ``{"error": ..., "error_description": ...}``.

Each Passerelle error maps to the status and code a Data Connect client already handles
(reference §1.6). Consent denials keep the Data Connect code a client expects (``ADAM-DC-0008``
for "no consent", ``ADAM-DC-0007`` for "not the holder"...) and add two members real clients
ignore: ``rule``, the Passerelle rule that denied, and ``allowed``, what would have been allowed.
Upstream failures become ``technical_error`` with 502/503/504 and ``Retry-After`` where known;
the upstream's own words never pass through.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from adapters import errors as upstream
from consent.errors import AccessDenied, MethodNotAllowed, PasserelleError
from proxy.data.evidence import Rendered, error_headers, json_bytes

NO_CONSENT = ("ADAM-DC-0008", "No consent can be found for this customer and this usage point.")
NOT_HOLDER = ("ADAM-DC-0007", "The customer is not owner of this usage point.")
BEFORE_CONSENT = ("ADAM-DC-0009",
                  "The start date of the request must be greater than the consent start date.")
BEFORE_MOVE_IN = ("ADAM-ERR0123", "The requested period cannot be anterior to the meter's "
                                  "last activation date")
HISTORY = ("ADAM-DC-0016", "The start date must be greater than the history deadline.")
UNAUTHORIZED = ("unauthorized_user", "user is not authorized to access this resource")
TECHNICAL = ("technical_error", "Technical error. Please try later.")
NO_DATA = ("no_data_found", "no measure found for this usage point")

#: Consent rule -> (HTTP status, Data Connect error, description).
_RULES: dict[str, tuple[int, tuple[str, str]]] = {
    "R6 consent active": (403, NO_CONSENT),
    "R6 point": (403, NO_CONSENT),
    "upstream authorisation": (403, NO_CONSENT),
    "R6 data window": (403, BEFORE_CONSENT),
    "R8 occupancy": (403, NOT_HOLDER),
    "R12 history": (400, HISTORY),
    "R6 dataset": (403, UNAUTHORIZED),
    "R6 resolution": (403, UNAUTHORIZED),
    "R13 supplier contract": (403, UNAUTHORIZED),
    "R4 community consent": (403, UNAUTHORIZED),
    "R6 token": (403, UNAUTHORIZED),
    "policy": (403, UNAUTHORIZED),
}


class CompatInvalidRequest(PasserelleError):
    """A Data Connect parameter error, carrying Data Connect's own code and sentence."""

    status = 400
    code = "invalid-request"
    title = "Invalid request"

    def __init__(self, detail: str, *, error: str = "invalid_request", status: int = 400) -> None:
        super().__init__(detail)
        self.error = error
        self.status = status  # type: ignore[misc]


def body_of(error: PasserelleError) -> tuple[int, dict[str, Any]]:
    """The status and Data Connect error body for ``error``."""
    if isinstance(error, CompatInvalidRequest):
        return error.status, {"error": error.error, "error_description": error.detail}
    if isinstance(error, AccessDenied):
        status, (code, text) = _RULES.get(error.rule, (403, UNAUTHORIZED))
        reason = error.extra.get("reason")
        if error.rule == "R8 occupancy" and reason == "before-move-in":
            # Enedis's answer to a period before the meter's activation for this customer;
            # 0007 ("not the holder") makes clients drop the household (reference §1.6).
            status, (code, text) = 400, BEFORE_MOVE_IN
        elif error.rule == "upstream authorisation" and reason == "window":
            # In force, but the window reaches before it: 0009, not 0008 ("no consent"),
            # on which clients drop the household.
            status, (code, text) = 403, BEFORE_CONSENT
        body: dict[str, Any] = {"error": code, "error_description": text, "rule": error.rule,
                                "detail": error.detail}
        if error.allowed is not None:
            body["allowed"] = error.allowed
        return status, body
    if error.status == 401:
        return 401, {"error": "invalid_token",
                     "error_description": "Invalid or expired access token."}
    if error.status == 429:
        return 429, {"error": "Quota Q3 reached",
                     "error_description": "Call threshold allowed for this application reached."}
    if isinstance(error, MethodNotAllowed):  # HTTP's own answer, with its Allow header
        return 405, {"error": "invalid_request", "error_description": error.detail}
    return _upstream_body(error)


def _upstream_body(error: PasserelleError) -> tuple[int, dict[str, Any]]:
    if isinstance(error, upstream.UpstreamDenied):
        # Enedis's own distinction, kept: a client tells "the customer moved out" (0007) from
        # "the consent is gone" (0008).
        return 403, _pair(NOT_HOLDER if error.extra.get("reason") == "not-holder"
                          else NO_CONSENT)
    if isinstance(error, upstream.NoData | upstream.UnknownPoint | upstream.UnsupportedResolution):
        return 404, _pair(NO_DATA)
    if isinstance(error, upstream.BeforeMoveIn):
        return 400, _pair(BEFORE_MOVE_IN)
    if isinstance(error, upstream.BeyondHistory):
        return 400, _pair(HISTORY)
    if isinstance(error, upstream.NotYetAvailable):
        return 400, {"error": "invalid_request", "error_description":
                     "The end date parameter must be earlier than the current date"}
    if isinstance(error, upstream.WindowTooLong):
        return 400, {"error": "ADAM-DC-0015", "error_description": "The requested period must "
                     "be less than 7 days for an access to the load curve"}
    if isinstance(error, upstream.UnsupportedDataset):
        return 400, {"error": "ADAM-ERR0069", "error_description":
                     "Le sens de la mesure ne correspond pas pour le PRM demandé"}
    if error.extra.get("upstream_code") == BEFORE_CONSENT[0]:  # Enedis's own, passed on
        return 403, _pair(BEFORE_CONSENT)
    if isinstance(error, upstream.UpstreamError) and error.status >= 500:
        return error.status, _pair(TECHNICAL)
    if error.status < 500:
        # A refusal the same request would meet again (an upstream 4xx among them): a 400 the
        # client does not retry, never a technical_error that tells it to.
        return 400, {"error": "invalid_request", "error_description": error.detail}
    # Our own failures keep their status: a database outage is a 503 with Retry-After here as
    # on the native API, never a 500.
    return error.status, _pair(TECHNICAL)


def _pair(pair: tuple[str, str]) -> dict[str, Any]:
    return {"error": pair[0], "error_description": pair[1]}


def render(error: PasserelleError, request: web.Request) -> Rendered:
    """The evidenced handler's renderer for the compatible API."""
    status, body = body_of(error)
    headers = {k: v for k, v in error_headers(error).items()
               if k in ("Retry-After", "WWW-Authenticate", "Allow")}
    if status == 401 and "WWW-Authenticate" not in headers:
        headers["WWW-Authenticate"] = 'Bearer realm="passerelle"'
    return Rendered(status, json_bytes(body), "application/json", headers)
