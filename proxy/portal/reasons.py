"""The reason recorded on a consent or mandate event, as the household's history shows it.

Reasons are part of the signed evidence and are written once, in English, by whoever acted;
they are never rewritten. The history page therefore translates at display time:

* Passerelle's own sentences (an expiry sweep, a narrowing's ``superseded``, a move-out, the
  DSO's state of an upstream authorisation) have known shapes and become a catalogue key, so a
  French page never shows "access period over";
* the household's own page notes ("withdrawn on the household page") say nothing the action
  and the actor do not already say, and are not shown;
* anything else is free text typed by a person (an operator revoking, a reviewer refusing, a
  move-out's note). It is not translated: the page shows it verbatim, as a quotation of unknown
  language after a label saying so ("Reason, as written:"), because hiding why the operator
  ended a household's consent would keep from it what R20 says it may see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_KNOWN = {
    "access period over": "portal.reason.expired",
    "validity over": "portal.reason.expired",
    "superseded": "portal.reason.superseded",
}
# The household's own page writes these: the action and "you" already say it.
_SILENT = ("on the household page", "narrowed by the household")
_MOVED_OUT = re.compile(r"occupant moved out \(R9\)(?:: (?P<note>.+))?", re.DOTALL)
# consent/cascade.py UpstreamReport.reason() and OccupancyService.record_upstream_state; the
# DSO's own code in parentheses ("(DSO: TERMINE)") is for staff, not shown.
_UPSTREAM = re.compile(r"upstream authorisation \S+ is (?P<state>active again|ended|revoked|"
                       r"refused|suspended)(?:: (?P<cause>.*?))?(?: \(DSO: [^()]*\))?",
                       re.DOTALL)
_NOT_HELD = "the household no longer holds the point (R9)"  # consent.cascade EndCause.NOT_HELD


@dataclass(frozen=True, slots=True)
class Reason:
    """What to show: ``key`` (a catalogue key for Passerelle's own words) and/or ``quoted`` (a
    person's text, verbatim); both ``None`` when nothing is worth showing."""

    key: str | None = None
    quoted: str | None = None


def explain(reason: str | None) -> Reason:
    """The reason of one history event, ready for the page (see the module docstring)."""
    text = (reason or "").strip()
    if not text or text.endswith(_SILENT):
        return Reason()
    if text in _KNOWN:
        return Reason(key=_KNOWN[text])
    if moved := _MOVED_OUT.fullmatch(text):
        return Reason(key="portal.reason.moved_out", quoted=moved["note"])
    if upstream := _UPSTREAM.fullmatch(text):
        if upstream["cause"] == _NOT_HELD:
            return Reason(key="portal.reason.moved_out")
        return Reason(key="portal.reason.upstream." + upstream["state"].replace(" ", "_"))
    return Reason(quoted=text)
