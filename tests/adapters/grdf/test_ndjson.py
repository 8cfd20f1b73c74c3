"""ADICT's NDJSON: one object per line, a status line at the end, nothing else."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.errors import UpstreamError, UpstreamMalformed
from adapters.grdf import consumption, ndjson

STATUS = {"code_statut_traitement": "0000000000",
          "message_retour_traitement": "L'opération s'est déroulée avec succès."}
LINE = {"pce": {"id_pce": "23000000000000"},
        "consommation": {"date_debut_consommation": "2021-08-16T06:00:00+02:00",
                         "date_fin_consommation": "2021-08-17T06:00:00+02:00",
                         "energie": 8.125, "sens_flux_gaz": "Consommation",
                         "statut_conso": "Provisoire", "type_qualif_conso": "Mesuré",
                         "journee_gaziere": "2021-08-16"},
        "statut_restitution": None}


def body(*lines: object, end: str = "\n") -> bytes:
    return end.join(json.dumps(line) for line in lines).encode() + end.encode()


def test_lines_and_status_are_read_with_exact_decimals() -> None:
    answer = ndjson.parse(body(LINE, LINE, STATUS))
    assert len(answer.lines) == 2
    assert answer.code == "0000000000"
    reading = consumption.reading(answer.lines[0], "23000000000000", "Europe/Paris", True)
    assert reading is not None
    assert reading.value == Decimal("8125")


def test_crlf_and_blank_lines_are_tolerated() -> None:
    assert len(ndjson.parse(body(LINE, STATUS, end="\r\n") + b"\r\n\r\n").lines) == 1


def test_a_listing_wrapped_in_liste_acces_is_flattened() -> None:
    answer = ndjson.parse(body({"liste_acces": [{"id": 1}, {"id": 2}]}, STATUS))
    assert [line.value["id"] for line in answer.lines] == [1, 2]
    assert answer.lines[1].path == "line[0].liste_acces[1]"


@pytest.mark.parametrize(("raw", "field"), [
    (b"", "body"),
    (body(LINE), "body"),  # no status line: truncated at a line boundary
    (body(LINE, STATUS)[:-40], "body"),  # cut in the middle of the last line
    (b'{"pce": 1}\nnot json\n' + body(STATUS), "line[1]"),
    (body([1, 2], STATUS), "line[0]"),
    (body(LINE, {**STATUS, "code_statut_traitement": "OK"}), "status.code_statut_traitement"),
    ("é".encode("latin-1"), "body"),
])
def test_deviations_name_where(raw: bytes, field: str) -> None:
    with pytest.raises(UpstreamMalformed) as caught:
        ndjson.parse(raw)
    assert caught.value.field == field


@pytest.mark.parametrize(("member", "value", "field"), [
    ("energie", "huit", "consommation.energie"),
    ("energie", -1, "consommation.energie"),
    ("date_debut_consommation", "2021-08-16T00:00:00+02:00",
     "consommation.date_debut_consommation"),
    ("date_fin_consommation", "2021-08-18T06:00:00+02:00", "consommation.date_fin_consommation"),
    ("journee_gaziere", "16/08/2021", "consommation.journee_gaziere"),
    ("statut_conso", "Inconnu", "consommation.statut_conso"),
    ("sens_flux_gaz", "Injection", "consommation.sens_flux_gaz"),
])
def test_consumption_deviations_name_the_member(member: str, value: object, field: str) -> None:
    line = json.loads(json.dumps(LINE))
    line["consommation"][member] = value
    answer = ndjson.parse(body(line, STATUS))
    with pytest.raises(UpstreamMalformed) as caught:
        consumption.reading(answer.lines[0], "23000000000000", "Europe/Paris", True)
    assert caught.value.field == f"line[0].{field}"


def test_a_null_energy_is_a_gap() -> None:
    line = json.loads(json.dumps(LINE))
    line["consommation"]["energie"] = None
    answer = ndjson.parse(body(line, STATUS))
    assert consumption.reading(answer.lines[0], "23000000000000", "Europe/Paris", True) is None


@given(st.binary(max_size=200))
def test_any_bytes_are_an_answer_or_a_typed_error(raw: bytes) -> None:
    try:
        answer = ndjson.parse(raw)
    except UpstreamError:
        return
    assert answer.code.isdigit()
    assert all(isinstance(line.value, dict) for line in answer.lines)


@given(st.integers(min_value=0, max_value=len(body(LINE, LINE, STATUS)) - 2))
def test_every_truncation_is_refused(cut: int) -> None:
    with pytest.raises(UpstreamMalformed):
        ndjson.parse(body(LINE, LINE, STATUS)[:cut])
