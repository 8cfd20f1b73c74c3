"""Proof bundles: export then verify, for every kind of selection, and the verifier's findings
on histories that break the consent."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from consent.clock import FrozenClock
from consent.evidence.blobs_db import DOCUMENTS, DatabaseBlobStore
from consent.evidence.canonical import format_instant
from consent.evidence.events import SERVED, AdminEvent, LogEvent, Refs
from consent.evidence.log_reader import ENTRY
from consent.evidence.retention import RetentionPolicy
from consent.evidence.secrets import Keyring
from consent.evidence.selection import Selection
from consent.evidence.service import Evidence
from consent.evidence.signing import sign_record
from consent.evidence.verify import Expectation, Report, verify_bundle
from consent.evidence.verify_report import EXIT_OUTSIDE_CONSENT, EXIT_UNTRUSTED_KEYS
from consent.storage.database import Database
from tests.evidence import scenario
from tests.evidence.conftest import T0


async def export(evidence: Evidence, selection: Selection, **options: bool) -> bytes:
    out = io.BytesIO()
    await evidence.export(selection, out, actor="auditor:cnil-1", **options)
    return out.getvalue()


def verified(data: bytes, **expect: str) -> Report:
    return verify_bundle(io.BytesIO(data), expect=Expectation(**expect))


@pytest.fixture
def evidence(sqlite_db: Database, clock: FrozenClock) -> Evidence:
    return scenario.evidence_for(sqlite_db, clock)


async def test_a_consent_bundle_round_trips(evidence: Evidence, clock: FrozenClock) -> None:
    await scenario.build(evidence, clock)
    data = await export(evidence, Selection(consent_id="c-1"))
    report = verified(data, consent_id="c-1")
    assert report.ok, report.render()
    assert "Entries: 8 checked (2 signed records, 6 accesses, 0 pruned)" in report.render()
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {"documents/doc-mandate.pdf", "records/consent/c-1/000000-grant.json",
            "records/consent/c-1/000006-withdraw.json", "summary.txt"} <= names
    summary = zipfile.ZipFile(io.BytesIO(data)).read("summary.txt").decode()
    assert "withdraw -> withdrawn by subject" in summary
    assert "accesses: 5 served, 1 not served" in summary
    assert "no access was served outside" in summary
    assert "r-solar" not in summary  # the other household's consent stays out


async def test_every_export_is_logged(evidence: Evidence, clock: FrozenClock) -> None:
    await scenario.build(evidence, clock)
    out = io.BytesIO()
    result = await evidence.export(Selection(consent_id="c-1"), out, actor="auditor:cnil-1")
    size, _root = await evidence.log.head()
    assert result.export_index == size - 1
    # The next bundle of this consent shows the first export, with the manifest's hash.
    again = await export(evidence, Selection(consent_id="c-1"))
    assert verified(again).ok
    entries = zipfile.ZipFile(io.BytesIO(again)).read("log/entries.tsv").decode()
    assert result.manifest_sha256 in entries
    assert '"kind":"audit.export"' in entries


@pytest.mark.parametrize("selection", [
    Selection(household_id="h-1"), Selection(recipient_id="r-coach"),
    Selection(tenant="t1", recipient_id="r-solar"),
])
async def test_other_selections_round_trip(evidence: Evidence, clock: FrozenClock,
                                           selection: Selection) -> None:
    await scenario.build(evidence, clock)
    report = verified(await export(evidence, selection))
    assert report.ok, report.render()


async def test_a_period_bundle_carries_the_records_of_its_consents(
        evidence: Evidence, clock: FrozenClock) -> None:
    await scenario.build(evidence, clock)
    selection = Selection(tenant="t1", start=T0 + timedelta(hours=10),
                          end=T0 + timedelta(days=2))
    data = await export(evidence, selection)
    report = verified(data)
    assert report.ok, report.render()
    entries = zipfile.ZipFile(io.BytesIO(data)).read("log/entries.tsv").decode()
    assert '"action":"grant"' in entries  # context: the grant predates the period


async def test_an_access_logged_while_exporting_brings_no_context_into_the_bundle(
        evidence: Evidence, clock: FrozenClock) -> None:
    """The anchor is signed, then a recipient reads under c-1 (granted before the period):
    that access is past the anchor, so c-1's grant is nobody's context and stays out; the
    honest bundle verifies."""
    await evidence.record(scenario.grant(clock))
    clock.advance(timedelta(hours=1))
    start = clock.now()
    await evidence.record(scenario.grant(clock, consent_id="c-9", household="h-9"))
    clock.advance(timedelta(hours=1))
    issue = evidence.checkpoints.issue

    async def issue_then_someone_reads() -> object:
        anchor = await issue()
        await evidence.access(scenario.access(clock))
        return anchor

    evidence.checkpoints.issue = issue_then_someone_reads  # type: ignore[method-assign]
    data = await export(evidence, Selection(start=start))
    report = verified(data)
    assert report.ok, report.render()
    entries = zipfile.ZipFile(io.BytesIO(data)).read("log/entries.tsv").decode()
    assert '"c-9"' in entries
    assert '"c-1"' not in entries


async def test_context_records_stay_within_the_selections_tenant_and_household(
        evidence: Evidence, clock: FrozenClock) -> None:
    """Entries of tenant t2, and of household h-2, that cite t1's consent c-1 of h-1 (an
    auditor's query naming it, say) do not bring c-1's signed records into their bundles."""
    await evidence.record(scenario.grant(clock))
    clock.advance(timedelta(minutes=1))
    for refs in (Refs("t2", "c-1"), Refs("t1", "c-1", "h-2")):
        await evidence.admin(AdminEvent(at=clock.now(), actor="auditor:x", action="entries",
                                        refs=refs, details={"consent_id": "c-1"}))
    for selection in (Selection(tenant="t2", start=T0 - timedelta(days=1)),
                      Selection(tenant="t1", household_id="h-2")):
        data = await export(evidence, selection)
        entries = zipfile.ZipFile(io.BytesIO(data)).read("log/entries.tsv").decode()
        assert "consent.record" not in entries, selection
        assert verified(data).ok, verified(data).render()
    own = await export(evidence, Selection(tenant="t1", household_id="h-1"))
    assert "consent.record" in zipfile.ZipFile(io.BytesIO(own)).read("log/entries.tsv").decode()


async def test_documents_can_be_withheld(evidence: Evidence, clock: FrozenClock) -> None:
    await scenario.build(evidence, clock)
    data = await export(evidence, Selection(consent_id="c-1"), include_documents=False)
    assert "documents/doc-mandate.pdf" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    report = verified(data)
    assert report.ok, report.render()
    assert "Document doc-mandate not included" in report.render()


async def test_a_document_altered_in_the_store_is_withheld_never_exported(
        evidence: Evidence, clock: FrozenClock, sqlite_db: Database) -> None:
    await scenario.build(evidence, clock)
    async with sqlite_db.engine.begin() as conn:
        sealed = (await conn.execute(select(DOCUMENTS.c.sealed))).scalar_one()
        await conn.execute(update(DOCUMENTS).values(sealed=b"\0" + sealed[1:]))
    data = await export(evidence, Selection(consent_id="c-1"))
    assert "documents/doc-mandate.pdf" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))["record"]
    assert manifest["withheld_documents"][0]["reason"].startswith("altered in the document")
    report = verified(data)
    assert report.ok, report.render()  # the bundle is sound; it says what it could not hold


async def test_a_document_whose_key_is_gone_is_withheld_and_the_export_goes_on(
        evidence: Evidence, clock: FrozenClock, sqlite_db: Database) -> None:
    await scenario.build(evidence, clock)
    evidence.blobs = DatabaseBlobStore(sqlite_db, Keyring([bytes(range(1, 33))]), clock=clock)
    data = await export(evidence, Selection(consent_id="c-1"))
    assert "documents/doc-mandate.pdf" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))["record"]
    assert "keyring no longer holds" in manifest["withheld_documents"][0]["reason"]
    assert verified(data).ok


async def test_an_access_after_withdrawal_is_named(evidence: Evidence,
                                                   clock: FrozenClock) -> None:
    await scenario.build(evidence, clock)
    clock.advance(timedelta(hours=1))
    late = await evidence.access(scenario.access(clock, outcome=SERVED))
    clock.advance(timedelta(hours=1))
    wrong = await evidence.access(scenario.access(clock, dataset="identity"))
    out = io.BytesIO()
    result = await evidence.export(Selection(consent_id="c-1"), out, actor="auditor:cnil-1")
    assert result.outside_consent == 2
    report = verified(out.getvalue())
    assert not report.ok
    problems = dict(report.problems)
    assert "while the consent was withdrawn" in problems[f"entry {late.index}"]
    assert f"entry {wrong.index}" in problems
    assert "outside this consent: 2" in report.render()
    # An intact bundle showing a violation is a compliance finding (exit code 3), told apart
    # from a forged or tampered one (1) once the keys are trusted; until then, keys come first.
    assert report.intact
    assert report.findings == 2
    assert report.exit_code == EXIT_UNTRUSTED_KEYS
    trusted = verify_bundle(io.BytesIO(out.getvalue()), trusted=await evidence.keys.history())
    assert trusted.exit_code == EXIT_OUTSIDE_CONSENT
    assert "RESULT: OUTSIDE CONSENT - the bundle is intact and shows 2" in trusted.render()


async def test_an_access_outside_the_scope_is_named(evidence: Evidence,
                                                    clock: FrozenClock) -> None:
    await evidence.record(scenario.grant(clock))
    clock.advance(timedelta(hours=1))
    cases = {
        "dataset identity is not in the consent": scenario.access(clock, dataset="identity"),
        "point enedis:30001610071845 is not in": scenario.access(
            clock, point=scenario.OTHER_POINT),
        "served to recipient r-other": scenario.access(clock, recipient="r-other"),
    }
    indices = {why: (await evidence.access(a)).index for why, a in cases.items()}
    report = verified(await export(evidence, Selection(consent_id="c-1")))
    problems = dict(report.problems)
    for why, index in indices.items():
        assert why in problems[f"entry {index}"]


async def test_a_point_served_on_its_own_under_a_community_consent_is_named(
        evidence: Evidence, clock: FrozenClock) -> None:
    """R4 (review 17 item 1): the signed records did not say whether a consent was individual
    or a community's, nor the access leaves whether a read went into an aggregate, so a point
    served on its own under a community consent passed offline. Now both say it: a read of
    the consent's community aggregate is inside, one on its own or for another community's
    sum is outside, each named."""
    grant = replace(scenario.grant(clock), view="community", community_id="pmo-1")
    record = await evidence.record(grant)
    assert (record.signed.record["view"], record.signed.record["community_id"]) == (
        "community", "pmo-1")  # signed
    clock.advance(timedelta(hours=1))
    member = await evidence.access(replace(scenario.access(clock), community_id="pmo-1"))
    alone = await evidence.access(scenario.access(clock))
    other = await evidence.access(replace(scenario.access(clock), community_id="pmo-2"))
    data = await export(evidence, Selection(consent_id="c-1"))
    report = verified(data, consent_id="c-1")
    problems = dict(report.problems)
    assert f"entry {member.index}" not in problems
    assert problems[f"entry {alone.index}"].endswith(
        "point served on its own; the consent releases it only inside the aggregate of "
        "community pmo-1 (R4)")
    assert "into the aggregate of community pmo-2" in problems[f"entry {other.index}"]
    assert report.intact
    assert report.findings == 2
    trusted = verify_bundle(io.BytesIO(data), trusted=await evidence.keys.history())
    assert trusted.exit_code == EXIT_OUTSIDE_CONSENT
    summary = zipfile.ZipFile(io.BytesIO(data)).read("summary.txt").decode()
    assert "only inside the aggregate of community pmo-1 (R4)" in summary


async def test_records_signed_before_the_view_are_individual_consents(
        evidence: Evidence, clock: FrozenClock) -> None:
    """A record signed before records carried ``view`` and ``community_id`` stays valid and
    is read as an individual consent (every consent then was): its point read on its own is
    inside. A view the verifier does not know fails its entry (fail closed)."""
    grant = scenario.grant(clock)
    old = {k: v for k, v in grant.to_json().items() if k not in ("view", "community_id")}
    signed = await sign_record(evidence.keys, old, clock.now())
    await evidence.log.append(LogEvent(grant.kind, grant.at, signed.to_json(), grant.refs,
                                       grant.chain))
    clock.advance(timedelta(hours=1))
    await evidence.access(scenario.access(clock))
    report = verified(await export(evidence, Selection(consent_id="c-1")), consent_id="c-1")
    assert report.ok, report.render()
    clock.advance(timedelta(hours=1))
    odd = {**grant.to_json(), "view": "collective", "version": 2, "at": format_instant(
        clock.now())}
    entry = await evidence.log.append(LogEvent(
        grant.kind, clock.now(), (await sign_record(evidence.keys, odd, clock.now())).to_json(),
        grant.refs, grant.chain))
    problems = dict(verified(await export(evidence, Selection(consent_id="c-1"))).problems)
    assert problems[f"entry {entry.index}"] == "unknown consent view 'collective'"


async def test_pruned_entries_keep_their_proofs(evidence: Evidence, clock: FrozenClock) -> None:
    await scenario.build(evidence, clock)
    clock.advance(timedelta(days=40))
    result = await evidence.prune(RetentionPolicy())
    assert result.pruned == 7  # every access of both consents
    assert result.aggregates == 2
    data = await export(evidence, Selection(consent_id="c-1"))
    report = verified(data)
    assert report.ok, report.render()
    text = report.render()
    assert "6 accesses, 6 pruned" in text
    assert "Pruned: 6 entries keep only their leaf" in text
    entries = zipfile.ZipFile(io.BytesIO(data)).read("log/entries.tsv").decode()
    assert '"reason":"R17: detailed usage traces' in entries
    assert '"kind":"retention"' in entries
    weekly = next(json.loads(line.split("\t")[2]) for line in entries.splitlines()
                  if '"kind":"retention"' in line)
    assert weekly["weeks"]["2026-03-02"]["daily_consumption"]["served"] == 5  # the whole week


async def test_two_retention_runs_at_once_count_each_access_once(
        db: Database, clock: FrozenClock) -> None:
    """The counts and the pruning commit together, and a run that finds its page pruned
    meanwhile rolls back its counts: every access is counted exactly once (both backends)."""
    evidence = scenario.evidence_for(db, clock)
    await scenario.build(evidence, clock, accesses=12)
    clock.advance(timedelta(days=40))
    first, second = await asyncio.gather(evidence.prune(RetentionPolicy()),
                                         evidence.prune(RetentionPolicy()))
    assert first.pruned + second.pruned == 14  # 12 + the denial + the other consent's
    async with db.engine.connect() as conn:
        payloads = (await conn.execute(select(ENTRY.c.payload).where(
            ENTRY.c.kind == "retention"))).scalars().all()
    counted = sum(n for payload in payloads
                  for datasets in json.loads(payload)["weeks"].values()
                  for outcomes in datasets.values() for n in outcomes.values())
    assert counted == 14


async def test_admin_events_follow_their_references(evidence: Evidence,
                                                    clock: FrozenClock) -> None:
    await scenario.build(evidence, clock)
    note = await evidence.admin(AdminEvent(clock.now(), "operator:ana", "document.reviewed",
                                           Refs("t1", "c-1", "h-1"), target="doc-mandate"))
    data = await export(evidence, Selection(household_id="h-1"))
    assert verified(data).ok
    assert f"\n{note.index}\t" in zipfile.ZipFile(io.BytesIO(data)).read(
        "log/entries.tsv").decode()


async def test_key_rotation_is_logged_and_old_signatures_still_verify(
        evidence: Evidence, clock: FrozenClock) -> None:
    await scenario.build(evidence, clock)
    clock.advance(timedelta(minutes=1))
    new_key = await evidence.rotate_key(actor="operator:ana")
    clock.advance(timedelta(minutes=1))
    await evidence.access(scenario.access(clock, outcome="denied", rule="consent withdrawn"))
    data = await export(evidence, Selection(consent_id="c-1"))
    report = verified(data)
    assert report.ok, report.render()
    keys = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("keys.json"))["keys"]
    assert [k["kid"] for k in keys][-1] == new_key.kid
    assert keys[0]["not_after"] == keys[1]["not_before"]


async def test_round_trip_on_every_backend(db: Database, clock: FrozenClock) -> None:
    evidence = scenario.evidence_for(db, clock, max_batch=3)
    await scenario.build(evidence, clock, accesses=20)
    clock.advance(timedelta(days=40))
    await evidence.prune(RetentionPolicy())
    report = verified(await export(evidence, Selection(consent_id="c-1")), consent_id="c-1")
    assert report.ok, report.render()
    assert "21 accesses, 21 pruned" in report.render(), report.render()
