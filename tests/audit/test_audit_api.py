"""An auditor exports, over the audit API, the proof bundle of a consent given through the real
OAuth flow and read through the real native API; the offline verifier accepts it, and refuses
it once tampered with. Other tenants' auditors and non-auditors are kept out."""

from __future__ import annotations

import io
import json
import zipfile

from consent.evidence.verify import Expectation, verify_bundle
from proxy.evidence.bundles import export_for_household
from proxy.keys import evidence_key
from proxy.web.consent_text import CONSENT_TEXT_VERSION, consent_notice
from tests.audit.flow import (
    auditor,
    call,
    consent_through_oauth,
    entries,
    members,
    read_daily,
    sha256,
)
from tests.proxy.world import PRM, USERNAME, World

EXPORTS = "/audit/v1/exports"


async def test_an_auditor_exports_a_bundle_that_verifies_offline(world: World) -> None:
    token = await consent_through_oauth(world)
    consent_id = token["consent_id"]
    status, served_body = await read_daily(world, token["access_token"])
    assert status == 200
    denied, _, _ = await world.get("/api/v1/points/enedis:30001610071845/datasets/"
                                   "daily_consumption", token["access_token"],
                                   start="2026-11-01", end="2026-11-08")
    assert denied in (403, 404)
    inspector = await auditor(world, "inspector")

    status, bundle, headers = await call(world, "POST", EXPORTS, inspector,
                                         {"consent_id": consent_id})
    assert status == 200, bundle
    assert headers["Content-Type"] == "application/zip"
    report = verify_bundle(io.BytesIO(bundle), expect=Expectation(consent_id=consent_id))
    assert report.ok, report.render()

    logged = entries(bundle)
    records = [p for _i, leaf, p in logged if leaf["kind"] == "consent.record"]
    assert [r["record"]["action"] for r in records] == ["request", "grant"]
    grant = records[-1]["record"]
    # What the household was shown and how it signed in (R15, R18).
    assert grant["notice"] == consent_notice(grant["notice"]["language"]).to_json()
    assert grant["notice"]["version"] == CONSENT_TEXT_VERSION
    assert grant["authentication"]["method"] == "password"
    # Pseudonymous: the account's id, not its login name (docs/evidence-format.md §8).
    assert grant["authentication"]["subject"] == grant["actor"]["account_id"] != USERNAME
    assert grant["actor"]["role"] == "subject"
    assert grant["recipient"]["purposes"] == ["energy_monitoring"]
    assert grant["legal_basis"] == "consent"
    assert grant["scope"]["points"] == [str(PRM)]
    # The served read: every field issue 4 asks for, and the hash of the exact bytes sent.
    [served] = [p for _i, leaf, p in logged if leaf["kind"] == "access"
                and p is not None and p["outcome"] == "served"]
    assert served["body_sha256"] == sha256(served_body)
    assert served["recipient_id"] == world.apps["coach"]
    assert served["point"] == str(PRM)
    assert served["dataset"] == "daily_consumption"
    assert served["values"] == 7
    assert served["upstream_calls"] >= 1
    assert set(served["window"]) == {"start", "end"}
    assert served["household_id"] == world.household_id
    assert "R6" not in json.dumps(served)  # no rule on a served read
    assert headers["X-Manifest-SHA256"] == sha256(members(bundle)["manifest.json"])

    # The export itself is logged, under the auditor's name.
    status, body, _ = await call(world, "GET", "/audit/v1/entries", inspector,
                                 kind="audit.export")
    assert status == 200
    [export] = json.loads(body)["entries"]
    assert export["payload"]["actor"] == "auditor:inspector"
    assert export["payload"]["manifest_sha256"] == headers["X-Manifest-SHA256"]


async def test_a_tampered_bundle_fails_verification(world: World) -> None:
    token = await consent_through_oauth(world)
    assert (await read_daily(world, token["access_token"]))[0] == 200
    inspector = await auditor(world, "inspector")
    status, bundle, _ = await call(world, "POST", EXPORTS, inspector,
                                   {"consent_id": token["consent_id"]})
    assert status == 200
    files = members(bundle)
    files["log/entries.tsv"] = files["log/entries.tsv"].replace(b'"values":7', b'"values":8')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    report = verify_bundle(io.BytesIO(out.getvalue()))
    assert not report.ok
    assert any("payload does not match" in what for _where, what in report.problems)


async def test_other_tenants_and_non_auditors_are_kept_out(world: World) -> None:
    token = await consent_through_oauth(world)
    assert (await read_daily(world, token["access_token"]))[0] == 200
    consent_id = token["consent_id"]
    outsider = await auditor(world, "elsewhere", tenant="other")
    regulator = await auditor(world, "regulator", tenant="other", all_tenants=True)

    status, _, _ = await call(world, "POST", EXPORTS, outsider, {"consent_id": consent_id})
    assert status == 404
    status, body, _ = await call(world, "GET", "/audit/v1/entries", outsider)
    assert status == 200
    assert json.loads(body)["entries"] == []
    # Asking about the consent leaves a trace of the outsider's tenant naming it: still
    # nothing of the consent's own to export.
    status, body, _ = await call(world, "GET", "/audit/v1/entries", outsider,
                                 consent_id=consent_id)
    assert (status, json.loads(body)["entries"]) == (200, [])
    status, _, _ = await call(world, "POST", EXPORTS, outsider, {"consent_id": consent_id})
    assert status == 404
    status, body, _ = await call(world, "GET", "/audit/v1/entries", regulator,
                                 consent_id=consent_id)
    found = json.loads(body)["entries"]
    assert status == 200
    assert found
    index = found[0]["index"]
    status, _, _ = await call(world, "GET", "/audit/v1/proofs/inclusion", outsider,
                              index=str(index), size=str(index + 1))
    assert status == 404
    status, body, _ = await call(world, "GET", "/audit/v1/proofs/inclusion", regulator,
                                 index=str(index), size=str(index + 1))
    assert status == 200
    assert json.loads(body)["index"] == index
    status, _, _ = await call(world, "POST", EXPORTS, regulator, {"consent_id": consent_id})
    assert status == 200

    # Not an auditor: the app's own token, or nothing at all.
    status, _, _ = await call(world, "POST", EXPORTS, token["access_token"],
                              {"consent_id": consent_id})
    assert status == 403
    status, _, headers = await call(world, "GET", "/audit/v1/keys", None)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    status, _, _ = await call(world, "GET", "/audit/v1/keys", "pas_aud_" + "x" * 43)
    assert status == 401


async def test_checkpoints_keys_and_proofs_never_show_a_secret(world: World) -> None:
    app_token = await world.token("dash")
    for _ in range(3):
        assert (await read_daily(world, app_token))[0] == 200
    inspector = await auditor(world, "inspector")
    status, body, _ = await call(world, "POST", "/audit/v1/checkpoints", inspector)
    assert status == 201
    issued = json.loads(body)
    status, body, _ = await call(world, "GET", "/audit/v1/checkpoints/latest", inspector)
    assert status == 200
    assert json.loads(body) == issued
    assert issued["note"].startswith(issued["origin"] + "\n")
    status, body, _ = await call(world, "GET", "/audit/v1/keys", inspector)
    keys = json.loads(body)
    assert status == 200
    assert len(keys["keys"]) == 1
    assert set(keys["keys"][0]) == {"kid", "alg", "public_key", "note_key", "not_before",
                                    "not_after"}
    size = issued["size"]
    assert size == 3
    status, body, _ = await call(world, "GET", "/audit/v1/proofs/consistency", inspector,
                                 first="1", second=str(size))
    assert status == 200
    assert isinstance(json.loads(body)["proof"], list)
    status, body, _ = await call(world, "GET", "/audit/v1/proofs/consistency", inspector,
                                 first="1", second=str(size + 10**6))
    assert status == 400


async def test_a_household_gets_its_own_bundle(world: World) -> None:
    token = await consent_through_oauth(world)
    status, served_body = await read_daily(world, token["access_token"])
    assert status == 200
    evidence = world.client.app[evidence_key]
    bundle = await export_for_household(evidence, world.household_id, tenant="default",
                                        actor="household:ana")
    report = verify_bundle(io.BytesIO(bundle),
                           expect=Expectation(household_id=world.household_id))
    assert report.ok, report.render()
    accesses = [p for _i, leaf, p in entries(bundle) if leaf["kind"] == "access"]
    assert [a["body_sha256"] for a in accesses] == [sha256(served_body)]
    assert "by household:ana" in members(bundle)["summary.txt"].decode()


# Review 2: "²" and a 5000-digit number passed str.isdigit and made int() raise; export
# periods near datetime's limits overflowed in UTC. Both were 500s.
async def test_odd_numbers_and_instants_are_a_400_naming_the_parameter(world: World) -> None:
    inspector = await auditor(world, "inspector")
    for value in ("²", "9" * 5000, "-1", "1e3", " 1", "", "１"):
        for path, params, field in (
                ("/audit/v1/entries", {"limit": value}, "limit"),
                ("/audit/v1/entries", {"after": value}, "after"),
                ("/audit/v1/proofs/inclusion", {"index": value, "size": "1"}, "index"),
                ("/audit/v1/proofs/consistency", {"first": "0", "second": value}, "second")):
            status, body, _ = await call(world, "GET", path, inspector, **params)
            assert (status, json.loads(body)["field"]) == (400, field), (path, value[:8])
    for value in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-01-01"):
        for name in ("from", "to"):
            status, body, _ = await call(world, "POST", EXPORTS, inspector, {name: value})
            assert (status, json.loads(body)["field"]) == (400, name), (name, value)


async def test_entries_page_with_after_and_next(world: World) -> None:
    await consent_through_oauth(world)
    inspector = await auditor(world, "inspector")
    status, body, _ = await call(world, "GET", "/audit/v1/entries", inspector, limit="2")
    first = json.loads(body)
    assert status == 200
    assert [e["index"] for e in first["entries"]] == [0, 1]
    assert first["next"] == 1
    status, body, _ = await call(world, "GET", "/audit/v1/entries", inspector,
                                 after=str(first["next"]), limit="1000")
    rest = json.loads(body)
    assert rest["entries"][0]["index"] == 2
    assert rest["next"] is None


async def test_every_refusal_is_a_problem_and_a_non_credential_is_a_401(world: World) -> None:
    """Finding 11 of review 15c: the audit API's 401s were RFC 6749 JSON ({error,
    error_description}) while its OpenAPI document and docs/errors.md promise
    application/problem+json, and a string that is no credential at all ('hello') got 403, as
    if it were a valid credential of another kind. Every refusal is now a problem; 401 carries
    the RFC 6750 challenge and a type ending in invalid_token."""
    token = await consent_through_oauth(world)
    inspector = await auditor(world, "inspector")
    refusals = {
        "no token": (None, 401),
        "unknown auditor token": ("pas_aud_" + "x" * 43, 401),
        "no credential at all": ("hello", 401),
        "an app's token": (token["access_token"], 403),
    }
    for label, (credential, status) in refusals.items():
        got, body, headers = await call(world, "GET", "/audit/v1/keys", credential)
        assert got == status, label
        assert headers["Content-Type"].startswith("application/problem+json"), label
        problem = json.loads(body)
        assert problem["status"] == status, label
        if status == 401:
            assert problem["type"].endswith("/invalid_token"), label
            assert headers["WWW-Authenticate"].startswith('Bearer realm="passerelle"'), label
    got, _body, headers = await call(world, "GET", "/audit/v1/entries", inspector, limit="0")
    assert got == 400
    assert headers["Content-Type"].startswith("application/problem+json")
