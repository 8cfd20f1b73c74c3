"""DSO bodies built to break a parser (found by review): nesting deeper than the interpreter's
stack, numbers beyond any meter. Each stays inside the adapter error tree (a 502 to the
recipient, never a 500), and whatever an adapter still lets out is translated at the proxy's
boundary."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web

from adapters.decode import Doc, json_value
from adapters.enedis import EnedisAdapter, EnedisConfig
from adapters.enedis.errors import classify
from adapters.errors import UpstreamError, UpstreamMalformed
from adapters.fakes.common import serve
from adapters.grdf.consumption import reading
from adapters.timekeeping import at_hour
from adapters.transport import Reply
from consent.clock import FrozenClock
from consent.periods import Period
from consent.readings import Series
from consent.vocabulary import Dataset, Resolution
from proxy.upstream.calls import FetchReport
from proxy.upstream.fetcher import Upstream
from tests.contract.harnesses import FAST_RETRY, LONG, NOW, ROOMY, clocked_limiter
from tests.proxy.test_upstream_gaps import GAS, PARIS, GappedDso, _capabilities

DEEP = b"[" * 200_000 + b"]" * 200_000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def test_json_nested_beyond_the_stack_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="too deep"):
        json_value(DEEP)
    assert json_value(b'{"a": 1.5}', exact=True) == {"a": Decimal("1.5")}


def test_an_enedis_error_body_nested_beyond_the_stack_is_classified_by_its_status() -> None:
    error = classify(Reply(500, {}, DEEP))
    assert isinstance(error, UpstreamError)
    assert error.status == 503


async def _daily_from_enedis(data: Handler, days: int) -> None:
    """Ask an Enedis adapter for ``days`` days of daily consumption from 2026-10-01, of a
    Data Connect whose token endpoint answers and whose daily endpoint is ``data``."""
    clock = FrozenClock(NOW)

    async def token(_: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "token_type": "Bearer",
                                  "expires_in": "3600"})

    app = web.Application()
    app.router.add_post("/oauth2/v3/token", token)
    app.router.add_get("/mesure_synchrone_auto/v2/consommation_quotidienne", data)
    async with serve(app) as url, aiohttp.ClientSession() as session:
        adapter = EnedisAdapter(session, EnedisConfig("id", "secret", base_url=url,
                                                      retry=FAST_RETRY, quotas=ROOMY),
                                clock=clock, limiter=clocked_limiter(clock))
        first = date(2026, 10, 1)
        period = Period(at_hour(first, "Europe/Paris"),
                        at_hour(first + timedelta(days=days), "Europe/Paris"))
        await adapter.series(LONG, Dataset.DAILY_CONSUMPTION, period, Resolution.P1D)


async def test_an_enedis_answer_nested_beyond_the_stack_is_malformed() -> None:
    async def data(_: web.Request) -> web.Response:
        return web.Response(body=DEEP, content_type="application/json")

    with pytest.raises(UpstreamMalformed):
        await _daily_from_enedis(data, 7)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_an_answer_larger_than_any_documented_one_is_malformed_not_read(
        declared: bool) -> None:
    """A valid daily answer followed by 40 MiB of blanks (valid JSON all the same): refused
    once past the bound, whether the size is declared or only streamed, before the rest is
    read (found by review: the whole body was read into memory and served)."""
    valid = json.dumps({
        "idPrm": LONG.identifier, "etapeMetier": "BRUT",
        "periode": {"dateDebut": "2026-10-01", "dateFin": "2026-10-02"},
        "typeValeur": "GLOBALE", "modeCalcul": "DIFF.INDEX", "pas": "P1D",
        "grandeur": [{"grandeurMetier": "CONS", "grandeurPhysique": "EA", "unite": "Wh",
                      "points": [{"v": "33495", "d": "2026-10-01"}], "calendrier": []}],
        "contexte": []}).encode()
    blanks, chunks = b" " * (1024 * 1024), 40

    async def data(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if declared:
            response.content_length = len(valid) + len(blanks) * chunks
        await response.prepare(request)
        await response.write(valid)
        try:
            for _ in range(chunks):
                await response.write(blanks)
        except (ConnectionError, RuntimeError):
            return response  # the client hung up
        await response.write_eof()
        return response

    with pytest.raises(UpstreamMalformed) as caught:
        await _daily_from_enedis(data, 1)
    assert caught.value.extra["field"] == "body"
    assert "MiB" in caught.value.detail


@pytest.mark.parametrize("energy", ["1e999999", "1e15", "-1"])
def test_a_gas_day_beyond_any_meter_is_malformed(energy: str) -> None:
    line = {"pce": {"id_pce": "23000000000000"}, "consommation": {
        "sens_flux_gaz": "Consommation",
        "date_debut_consommation": "2026-10-01T06:00:00+02:00",
        "date_fin_consommation": "2026-10-02T06:00:00+02:00",
        "journee_gaziere": "2026-10-01", "energie": None, "statut_conso": "Définitive"}}
    doc = json.loads(json.dumps(line).replace("null", energy), parse_float=Decimal)
    with pytest.raises(UpstreamMalformed):
        reading(Doc(doc), "23000000000000", "Europe/Paris", True)


class BrokenDso(GappedDso):
    """An adapter whose reading of the DSO's answer fails outside the error tree."""

    async def series(self, point: object, dataset: Dataset, period: Period,
                     resolution: Resolution) -> Series:
        raise KeyError("consommation")


async def test_an_adapter_error_outside_the_tree_is_translated_at_the_boundary(
        caplog: pytest.LogCaptureFixture) -> None:
    upstream = Upstream(BrokenDso(), _capabilities(),
                        FrozenClock(datetime(2026, 10, 1, 12, tzinfo=PARIS)))
    window = Period(datetime(2026, 9, 1, tzinfo=PARIS), datetime(2026, 9, 8, tzinfo=PARIS))
    with caplog.at_level(logging.ERROR, "passerelle.upstream"), \
            pytest.raises(UpstreamMalformed) as raised:
        await upstream.series(GAS, Dataset.DAILY_CONSUMPTION, window, recipient="a",
                              report=FetchReport())
    assert raised.value.status == 502
    assert "consommation" not in raised.value.detail  # nothing of the adapter's internals
    assert any("outside the error tree" in r.getMessage() and r.exc_info for r in caplog.records)
