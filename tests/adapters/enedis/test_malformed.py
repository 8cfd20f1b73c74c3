"""Anything Data Connect sends off its documented shape is an error naming the member.

Bodies start from real captures' shapes (MyElectricalData's anonymised fixtures) and break one
thing at a time; a hypothesis property then breaks anything anywhere: the parser answers with
consistent readings or a typed adapter error, never with a crash.
"""

from __future__ import annotations

import copy
import itertools
import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.decode import Doc
from adapters.enedis import measures, v5
from adapters.enedis.consent import _service
from adapters.enedis.errors import classify
from adapters.errors import UnsupportedResolution, UpstreamError, UpstreamMalformed
from adapters.transport import Reply
from consent.vocabulary import Dataset

PRM = "22516914714270"
FIRST, END = date(2026, 9, 29), date(2026, 10, 1)
ZONE = "Europe/Paris"


def daily() -> dict[str, Any]:
    return {"idPrm": PRM, "etapeMetier": "BRUT",
            "periode": {"dateDebut": "2026-09-29", "dateFin": "2026-10-01"},
            "typeValeur": "GLOBALE", "modeCalcul": "DIFF.INDEX", "pas": "P1D",
            "grandeur": [{"grandeurMetier": "CONS", "grandeurPhysique": "EA", "unite": "Wh",
                          "points": [{"v": "33495", "d": "2026-09-29"},
                                     {"v": "38022", "d": "2026-09-30"}],
                          "calendrier": []}], "contexte": []}


def curve() -> dict[str, Any]:
    points = []
    for slot in range(1, 97):
        end = slot * 30
        day = FIRST + timedelta(days=end // 1440)
        points.append({"v": str(1000 + slot), "d": f"{day} {end % 1440 // 60:02d}:"
                       f"{end % 60:02d}:00", "p": "PT30M", "n": "B", "iv": "0", "ec": "0"})
    return {"idPrm": PRM, "etapeMetier": "BRUT", "periode": {}, "modeCalcul": "MESURE",
            "grandeur": [{"grandeurMetier": "CONS", "grandeurPhysique": "PA", "unite": "W",
                          "points": points}]}


def index() -> dict[str, Any]:
    return {"idPrm": PRM, "periode": {}, "grandeur": [], "contexte": [{
        "etapeMetier": "BRUT", "grandeur": [{
            "grandeurMetier": "CONS", "grandeurPhysique": "EA", "unite": "Wh", "points": [],
            "cadranTotalisateur": {"codeCadran": "CT", "valeur": [
                {"d": "2026-09-30 00:00:00", "v": 1000, "iv": 0},
                {"d": "2026-10-01 00:00:00", "v": 1200, "iv": 0}]}}]}]}


def parse(body: Any, dataset: Dataset = Dataset.DAILY_CONSUMPTION) -> measures.Chunk:
    return measures.parse(Doc(body), PRM, dataset, FIRST, END, ZONE)


def test_the_captured_shapes_parse() -> None:
    assert [r.value for r in parse(daily()).timeline.readings] == [33495, 38022]
    assert len(parse(curve(), Dataset.CONSUMPTION_LOAD_CURVE).timeline.readings) == 96
    registers = parse(index(), Dataset.CONSUMPTION_INDEX).timeline.readings
    assert [(r.start.date().isoformat(), r.value) for r in registers] == [
        ("2026-09-29", 1000), ("2026-09-30", 1200)]


def _set(body: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(("path", "value", "field"), [
    (["idPrm"], KeyError, "idPrm"),
    (["idPrm"], "99999999999991", "idPrm"),
    (["etapeMetier"], "PROVISOIRE", "etapeMetier"),
    (["grandeur", 0, "unite"], "kWh", "grandeur[0].unite"),
    (["grandeur", 0, "points", 0, "v"], "12,5", "grandeur[0].points[0].v"),
    (["grandeur", 0, "points", 0, "v"], 33495, "grandeur[0].points[0].v"),
    (["grandeur", 0, "points", 0, "v"], "-3", "grandeur[0].points[0].v"),
    (["grandeur", 0, "points", 0, "v"], "NaN", "grandeur[0].points[0].v"),
    (["grandeur", 0, "points", 0, "d"], "2026-13-01", "grandeur[0].points[0].d"),
    (["grandeur", 0, "points", 0, "d"], "2026-10-05", "grandeur[0].points[0].d"),
    (["grandeur", 0, "points", 1, "d"], "2026-09-29", "grandeur[0].points[1].d"),
    (["grandeur", 0, "points", 1], "38022", "grandeur[0].points[1]"),
    (["grandeur"], {"points": []}, "grandeur"),
])
def test_daily_deviations_name_the_member(path: list[Any], value: Any, field: str) -> None:
    with pytest.raises(UpstreamMalformed) as caught:
        parse(_set(daily(), path, value))
    assert caught.value.field == field


def test_two_answers_for_one_quantity_are_refused() -> None:
    body = daily()
    body["grandeur"].append(copy.deepcopy(body["grandeur"][0]))
    with pytest.raises(UpstreamMalformed) as caught:
        parse(body)
    assert caught.value.field == "grandeur"


@pytest.mark.parametrize(("path", "value", "field"), [
    (["grandeur", 0, "points", 0, "p"], KeyError, "grandeur[0].points[0].p"),
    (["grandeur", 0, "points", 1, "p"], "PT15M", "grandeur[0].points[1].p"),
    (["grandeur", 0, "points", 0, "d"], "2026-09-29T00:30:00+02:00", "grandeur[0].points[0].d"),
    (["grandeur", 0, "points", 3, "d"], "2026-09-29 01:00:00", "grandeur[0].points[3].d"),
])
def test_curve_deviations_name_the_member(path: list[Any], value: Any, field: str) -> None:
    with pytest.raises(UpstreamMalformed) as caught:
        parse(_set(curve(), path, value), Dataset.CONSUMPTION_LOAD_CURVE)
    assert caught.value.field == field


def test_a_step_passerelle_cannot_name_is_refused_as_such() -> None:
    body = curve()
    for point in body["grandeur"][0]["points"]:
        point["p"] = "PT5M"
    with pytest.raises(UnsupportedResolution):
        parse(body, Dataset.CONSUMPTION_LOAD_CURVE)


@pytest.mark.parametrize(("value", "field"), [("1000", "v"), (-1, "v"), (True, "v")])
def test_registers_are_non_negative_integers(value: Any, field: str) -> None:
    body = _set(index(), ["contexte", 0, "grandeur", 0, "cadranTotalisateur", "valeur", 0, "v"],
                value)
    with pytest.raises(UpstreamMalformed) as caught:
        parse(body, Dataset.CONSUMPTION_INDEX)
    assert caught.value.field == f"contexte[0].grandeur[0].cadranTotalisateur.valeur[0].{field}"


@pytest.mark.parametrize("stamp", ["2026-09-30", "2026-09-30 06:00:00"])
def test_a_register_not_dated_at_a_local_midnight_is_refused(stamp: str) -> None:
    body = _set(index(), ["contexte", 0, "grandeur", 0, "cadranTotalisateur", "valeur", 0, "d"],
                stamp)
    with pytest.raises(UpstreamMalformed) as caught:
        parse(body, Dataset.CONSUMPTION_INDEX)
    assert caught.value.field.endswith("valeur[0].d")


@pytest.mark.parametrize("raw", [b'{"idPrm": "2251', b"", b"<html>502</html>", b"\xff\xfe"])
def test_truncated_or_garbled_bodies_name_the_body(raw: bytes) -> None:
    with pytest.raises(UpstreamMalformed) as caught:
        measures.decode(Reply(200, {}, raw))
    assert caught.value.field == "body"


def test_v5_deviations_name_the_member() -> None:
    body = {"meter_reading": {"usage_point_id": PRM, "start": "2026-09-29", "end": "2026-10-01",
                              "quality": "BRUT", "reading_type": {"unit": "Wh"},
                              "interval_reading": [{"value": "540", "date": "2026-09-29"},
                                                   {"value": "null", "date": "2026-09-30"}]}}
    chunk = v5.parse(Doc(body), PRM, Dataset.DAILY_CONSUMPTION, FIRST, END, ZONE)
    assert [r.value for r in chunk.timeline.readings] == [540]
    body["meter_reading"]["interval_reading"][0]["date"] = "29/09/2026"
    with pytest.raises(UpstreamMalformed) as caught:
        v5.parse(Doc(body), PRM, Dataset.DAILY_CONSUMPTION, FIRST, END, ZONE)
    assert caught.value.field == "meter_reading.interval_reading[0].date"


def test_v5_max_power_dated_as_an_utc_instant_keeps_its_local_day() -> None:
    body = {"meter_reading": {"usage_point_id": PRM, "quality": "BRUT",
                              "reading_type": {"unit": "VA", "flow_direction": "forward"},
                              "interval_reading": [
                                  {"value": "4680", "date": "2026-09-29T22:30:00.000Z"}]}}
    chunk = v5.parse(Doc(body), PRM, Dataset.DAILY_MAX_POWER, FIRST, END, ZONE)
    assert chunk.timeline.readings[0].start.date() == date(2026, 9, 30)  # 00:30 in Paris


@pytest.mark.parametrize(("member", "value"), [("etatCode", "INCONNU"), ("dateFin", "demain"),
                                               ("soutirage", "oui"), ("pointId", None)])
def test_subscribed_service_deviations_name_the_member(member: str, value: Any) -> None:
    item = {"id": "1", "pointId": PRM, "etatCode": "ACTIF", "soutirage": True,
            "injection": False, "mesuresTypeCode": "ENERGIE", "mesuresPas": "P1D",
            "dateDebut": "2025-01-01", "dateFin": "2028-01-01",
            "autorisation": {"autorisationId": 42}}
    item[member] = value
    with pytest.raises(UpstreamMalformed) as caught:
        _service(Doc(item, "serviceSouscrit[0]"), "42", ZONE)
    assert caught.value.field == f"serviceSouscrit[0].{member}"


# ---- anything, anywhere ----------------------------------------------------------------------

_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**12),
                  st.floats(allow_nan=True), st.text(max_size=12),
                  st.sampled_from(["null", "2026-09-29", "2026-09-29 00:30:00", "PT30M", "BRUT",
                                   "CONS", "PA", "W", "Wh", PRM, "4078", "0"]),
                  st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3),
                                                                       st.integers(), max_size=2))


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:4]):
            found += _leaves(child, (*path, index))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choice=st.data(), dataset=st.sampled_from([Dataset.DAILY_CONSUMPTION,
                                                  Dataset.CONSUMPTION_LOAD_CURVE,
                                                  Dataset.CONSUMPTION_INDEX]),
       junk=_JUNK, delete=st.booleans())
def test_any_mutation_gives_consistent_readings_or_a_typed_error(
        choice: st.DataObject, dataset: Dataset, junk: Any, delete: bool) -> None:
    body = {Dataset.DAILY_CONSUMPTION: daily, Dataset.CONSUMPTION_LOAD_CURVE: curve,
            Dataset.CONSUMPTION_INDEX: index}[dataset]()
    path = choice.draw(st.sampled_from(_leaves(body)))
    _set(body, list(path), KeyError if delete and isinstance(path[-1], str) else junk)
    raw = json.dumps(body, allow_nan=True).encode()
    try:
        chunk = parse(measures.decode(Reply(200, {}, raw)).value, dataset)
    except UpstreamError:
        return
    readings = chunk.timeline.readings
    for before, after in itertools.pairwise(readings):
        assert before.end <= after.start
    for reading in readings:
        assert reading.value >= 0
        assert isinstance(reading.value, Decimal)
        assert chunk.timeline.lower <= reading.start < reading.end <= chunk.timeline.upper


@pytest.mark.parametrize("code", [
    "STM-ERR-0000020 upstream=https://gw-int.enedis.fr/mesures?token=eyJhbGciOi" + "x" * 2000,
    "Jean Dupont, 12 rue X: forbidden", "ADAM-DC-0008\nSet-Cookie: a=b"])
@pytest.mark.parametrize("status", [400, 403, 404, 418])
def test_what_is_not_an_error_code_never_reaches_a_recipient(code: str, status: int) -> None:
    """A body's ``code`` travels to recipients as ``upstream_code`` (and into ``detail`` for
    an unknown status): only a code's shape does; a URL with a token or a name does not."""
    reply = Reply(status, {}, json.dumps({"code": code, "message": "m"}).encode())
    error = classify(reply)
    assert "upstream_code" not in error.extra
    assert "Jean" not in error.detail
    assert "token" not in error.detail
    assert classify(Reply(status, {}, b'{"code": "ADAM-DC-0008", "message": "m"}')
                    ).extra["upstream_code"] == "ADAM-DC-0008"
