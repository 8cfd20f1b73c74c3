"""What the Data Connect-compatible API answers for each upstream refusal: Enedis's own code
where Enedis has one (reference §1.6), a 4xx a client does not retry for a refusal the same
request would meet again, technical_error only for failures. The access event's outcome agrees."""

from __future__ import annotations

import json

import pytest

from adapters.enedis.errors import classify
from adapters.transport import Reply
from consent.access_events import Outcome
from proxy.compat.enedis.errors import body_of
from proxy.data.evidence import classify as outcome_of


def _enedis(status: int, code: str, text: str = "x") -> tuple[int, str, Outcome]:
    error = classify(Reply(status, {}, json.dumps(
        {"error": code, "error_description": text}).encode()))
    answered, body = body_of(error)
    return answered, body["error"], outcome_of(error)[0]


@pytest.mark.parametrize(("upstream", "answer"), [
    ((400, "ADAM-DC-0007", "Le client n'est pas titulaire du point demandé."),
     (403, "ADAM-DC-0007", Outcome.DENIED)),
    ((403, "ADAM-DC-0008"), (403, "ADAM-DC-0008", Outcome.DENIED)),
    ((403, "ADAM-DC-0009"), (403, "ADAM-DC-0009", Outcome.INVALID)),
    ((400, "ADAM-ERR0123"), (400, "ADAM-ERR0123", Outcome.INVALID)),
    ((400, "ADAM-ERR0126", "The customer objected to the load curve recording"),
     (404, "no_data_found", Outcome.INVALID)),
    ((400, "ADAM-ERR9999"), (502, "technical_error", Outcome.FAILED)),  # not understood
    ((500, "technical_error"), (503, "technical_error", Outcome.FAILED)),
])
def test_upstream_refusals_keep_their_meaning(upstream: tuple[int, str],
                                               answer: tuple[int, str, Outcome]) -> None:
    assert _enedis(*upstream) == answer
