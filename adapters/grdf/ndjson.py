"""Strict reading of ADICT's NDJSON answers (``application/x-ndjson``).

Every answer is one JSON object per line and ends with a status line
``{"code_statut_traitement", "message_retour_traitement"}``. The reader insists on it:

* a body that is not UTF-8, empty, or whose last line is not JSON was cut short: field ``body``;
* a line in the middle that is not a JSON object: field ``line[i]``;
* no status line at the end: the answer was truncated at a line boundary: field ``body``.

Blank lines and ``\\r\\n`` endings are tolerated (lowatt-grdf had to strip the body). A first
line ``{"liste_acces": [...]}`` (seen on the access-right listing) is flattened into its items.
Numbers are decoded as :class:`~decimal.Decimal` so that no float ever touches a kWh.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.decode import Doc, json_value
from adapters.errors import UpstreamMalformed

STATUS_KEYS = {"code_statut_traitement", "message_retour_traitement"}


@dataclass(frozen=True, slots=True)
class Answer:
    """The payload lines and the status line of one NDJSON answer."""

    lines: list[Doc]
    code: str
    message: str


def parse(body: bytes) -> Answer:
    """The answer's lines, or :class:`UpstreamMalformed` naming what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UpstreamMalformed("ADICT's answer is not UTF-8 text.", field="body") from None
    raw = [line for line in text.splitlines() if line.strip()]
    if not raw:
        raise UpstreamMalformed("ADICT's answer is empty.", field="body")
    decoded = []
    for index, line in enumerate(raw):
        try:
            value = json_value(line, exact=True)
        except ValueError:
            if index == len(raw) - 1:
                raise UpstreamMalformed("ADICT's answer stops in the middle of a line "
                                        "(truncated).", field="body") from None
            raise UpstreamMalformed(f"Line {index} of ADICT's answer is not JSON.",
                                    field=f"line[{index}]") from None
        if not isinstance(value, dict):
            raise UpstreamMalformed(f"Line {index} of ADICT's answer is not a JSON object.",
                                    field=f"line[{index}]")
        decoded.append(value)
    last = decoded[-1]
    if not set(last) >= STATUS_KEYS:
        raise UpstreamMalformed("ADICT's answer ends without its status line (truncated).",
                                field="body")
    status = Doc(last, "status")
    code, message = status["code_statut_traitement"].text(), status[
        "message_retour_traitement"].text()
    if not (len(code) == 10 and code.isdigit()):
        raise status["code_statut_traitement"].fail("a 10-digit status code")
    lines = [Doc(value, f"line[{i}]") for i, value in enumerate(decoded[:-1])]
    if lines and isinstance(lines[0].value.get("liste_acces"), list):
        lines = lines[0]["liste_acces"].items() + lines[1:]
    return Answer(lines, code, message)
