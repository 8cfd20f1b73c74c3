"""What an in-house DSO's problem answer becomes: the adapter error its code names, in
Passerelle's own words. Whatever the DSO wrote in ``detail`` (paths, connection strings,
another customer's name) never reaches a recipient, on any status (adapters/errors.py)."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import make_mocked_request

from adapters import errors
from adapters.inhouse.client import _error_from_problem
from proxy.native import render_problem

SECRET = "denied by /srv/dso/acl.yaml (db=postgres://dso:hunter2@10.0.0.5)"


@pytest.mark.parametrize(("status", "code", "kind"), [
    (403, "upstream-authorisation", errors.UpstreamDenied),
    (404, "no-data", errors.NoData),
    (404, "unknown-point", errors.UnknownPoint),
    (400, "before-move-in", errors.BeforeMoveIn),
    (409, "something-new", errors.UpstreamError),
    (429, "rate-limited", errors.UpstreamRateLimited),
    (503, "upstream-unavailable", errors.UpstreamUnavailable),
])
def test_the_dsos_own_words_never_pass(status: int, code: str,
                                       kind: type[errors.UpstreamError]) -> None:
    error = _error_from_problem(status, {"code": code, "detail": SECRET, "title": SECRET}, 30)
    assert isinstance(error, kind)
    assert "hunter2" not in str(error)
    rendered = render_problem(error, make_mocked_request("GET", "/api/v1/points/x/datasets/y"))
    assert "hunter2" not in rendered.body.decode()
    assert json.loads(rendered.body)["status"] == error.status
