"""schemathesis against the data APIs (``/api/openapi.json``) and the OAuth endpoints.

Each operation gets ``PASSERELLE_FUZZ_EXAMPLES`` generated cases (default 25: a few hundred in
all, seconds), valid and invalid ones, sent over HTTP with a valid bearer token for the data
APIs and with or without the client's credentials for OAuth. Every answer must be neither a 5xx
nor a departure from the document: a status it does not list, another content type, or a body
that breaks the response schema. The long run is the same test with more cases::

    PASSERELLE_FUZZ_EXAMPLES=400 pytest tests/fuzz -q -s

which prints the number of cases per operation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from proxy.openapi import build_openapi
from tests.fuzz.conftest import Target
from tests.fuzz.oauth_spec import oauth_spec

EXAMPLES = int(os.environ.get("PASSERELLE_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
PLACEHOLDER = "http://127.0.0.1"
DATA_API = schemathesis.openapi.from_dict(build_openapi(PLACEHOLDER))
OAUTH = schemathesis.openapi.from_dict(oauth_spec(PLACEHOLDER))
COUNTS: dict[str, int] = {}


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def fuzz(operation: Any, target: Target,
         headers: Callable[[st.DataObject], dict[str, str]]) -> int:
    """Run the cases of one operation; return how many were sent."""
    sent = 0
    session = requests.Session()

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(), data=st.data())
    def one(case: Any, data: st.DataObject) -> None:
        nonlocal sent
        extra = headers(data)
        response = case.call(base_url=target.url, session=session, headers=extra, timeout=30)
        sent += 1
        assert "Traceback" not in response.text
        case.validate_response(response, checks=CHECKS, headers=extra)

    try:
        one()
    finally:
        session.close()
    COUNTS[operation.label] = sent
    return sent


@pytest.mark.parametrize("operation", operations(DATA_API), ids=lambda o: o.label)
def test_the_data_apis_hold_to_their_document(operation: Any, target: Target) -> None:
    def bearer(data: st.DataObject) -> dict[str, str]:
        return {"Authorization": f"Bearer {target.token}"}

    assert fuzz(operation, target, bearer) >= 1


@pytest.mark.parametrize("operation", operations(OAUTH), ids=lambda o: o.label)
def test_the_oauth_endpoints_answer_rfc_6749_errors(operation: Any, target: Target) -> None:
    credentials = aiohttp.encode_basic_auth(target.client_id, target.client_secret)

    def client_or_not(data: st.DataObject) -> dict[str, str]:
        choice = data.draw(st.sampled_from(["client", "none", "wrong"]), label="auth")
        if choice == "client":
            return {"Authorization": credentials}
        if choice == "wrong":
            return {"Authorization": aiohttp.encode_basic_auth(target.client_id, "nope")}
        return {}

    assert fuzz(operation, target, client_or_not) >= 1


def test_report_case_counts() -> None:
    """Prints the cases sent per operation (``-s`` shows it); runs last in this module."""
    print(f"\nschemathesis cases per operation ({EXAMPLES} asked): {COUNTS}, "
          f"total {sum(COUNTS.values())}")
    assert sum(COUNTS.values()) > 0
