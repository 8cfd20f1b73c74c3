"""Tampering with any part of a bundle makes the verifier fail and name what is wrong.

Two kinds of attacker: one who edits a bundle (file hashes and the manifest signature catch
them), and a dishonest exporter holding the signing key who re-signs the manifest after the
edit (the log's hashes, proofs and checkpoint signatures must still catch them).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consent.clock import FrozenClock
from consent.evidence.canonical import b64encode, canonical, sha256_hex
from consent.evidence.events import SERVED, LogEvent
from consent.evidence.keys import KeyHistory, PublicKeyInfo
from consent.evidence.keystore import MemoryKeyStore, public_bytes
from consent.evidence.notes import assemble, signature_line
from consent.evidence.retention import RetentionPolicy
from consent.evidence.selection import Selection
from consent.evidence.service import Evidence
from consent.evidence.signing import sign_record
from consent.evidence.verify import Expectation, verify_bundle
from consent.storage.database import Database
from tests.evidence import scenario
from tests.evidence.scenario import History


@pytest.fixture
async def built(sqlite_db: Database, clock: FrozenClock) -> tuple[Evidence, History, bytes]:
    evidence = scenario.evidence_for(sqlite_db, clock)
    history = await scenario.build(evidence, clock)
    out = io.BytesIO()
    await evidence.export(Selection(consent_id="c-1"), out, actor="auditor:cnil-1")
    return evidence, history, out.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def pack(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    return out.getvalue()


async def resign(evidence: Evidence, files: dict[str, bytes],
                 change: Callable[[dict[str, object]], None] | None = None) -> None:
    """What a dishonest exporter can do: fix the manifest's hashes and sign it again."""
    manifest = dict(json.loads(files["manifest.json"])["record"])
    del manifest["signed_at"]
    manifest["files"] = {n: sha256_hex(c) for n, c in sorted(files.items())
                         if n != "manifest.json"}
    if change is not None:
        change(manifest)
    signed = await sign_record(evidence.keys, manifest, evidence.clock.now())
    files["manifest.json"] = canonical(signed.to_json())


def problems(data: bytes, **expect: str) -> dict[str, str]:
    report = verify_bundle(io.BytesIO(data), expect=Expectation(**expect))
    assert not report.ok
    assert "RESULT: INVALID" in report.render()
    found: dict[str, str] = {}
    for where, what in report.problems:
        found[where] = f"{found[where]} | {what}" if where in found else what
    return found


def edit_line(files: dict[str, bytes], index: int, old: str, new: str) -> None:
    lines = files["log/entries.tsv"].decode().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith(f"{index}\t"):
            assert old in line
            lines[i] = line.replace(old, new)
    files["log/entries.tsv"] = "".join(lines).encode()


def flip_byte(content: bytes, at: int = -20) -> bytes:
    changed = bytearray(content)
    changed[at] ^= 0x01
    return bytes(changed)


RECORD = "records/consent/c-1/000000-grant.json"


async def test_untouched_bundle_is_valid(built: tuple[Evidence, History, bytes]) -> None:
    _evidence, _history, data = built
    assert verify_bundle(io.BytesIO(pack(members(data)))).ok


async def test_a_byte_of_a_record(built: tuple[Evidence, History, bytes]) -> None:
    evidence, _history, data = built
    files = members(data)
    files[RECORD] = files[RECORD].replace(b'"energy_advice"]', b'"energy_advise"]')
    assert "content changed" in problems(pack(files))[RECORD]
    await resign(evidence, files)
    assert "not one of the signed records" in problems(pack(files))[RECORD]


async def test_a_byte_of_a_proof_document(built: tuple[Evidence, History, bytes]) -> None:
    evidence, _history, data = built
    files = members(data)
    name = "documents/doc-mandate.pdf"
    files[name] = flip_byte(files[name], 30)
    assert "content changed" in problems(pack(files))[name]
    await resign(evidence, files)
    assert "differs from the document the record cites" in problems(pack(files))[name]
    del files[name]
    await resign(evidence, files)
    assert "cited by a record but missing" in problems(pack(files))["document doc-mandate"]


async def test_a_byte_of_a_log_entry(built: tuple[Evidence, History, bytes]) -> None:
    evidence, history, data = built
    files = members(data)
    index = history.indices["denied"]
    edit_line(files, index, '"outcome":"denied"', '"outcome":"served"')
    assert "content changed" in problems(pack(files))["log/entries.tsv"]
    await resign(evidence, files)
    found = problems(pack(files))
    assert "payload does not match the hash in its leaf" in found[f"entry {index}"]


async def test_a_log_entry_rewritten_with_its_own_hash(
        built: tuple[Evidence, History, bytes]) -> None:
    evidence, history, data = built
    files = members(data)
    index = history.indices["denied"]
    line = next(x for x in files["log/entries.tsv"].decode().splitlines()
                if x.startswith(f"{index}\t"))
    _i, leaf, payload, _mark = line.split("\t")
    forged = payload.replace('"outcome":"denied"', '"outcome":"served"')
    new_leaf = leaf.replace(sha256_hex(payload.encode()), sha256_hex(forged.encode()))
    edit_line(files, index, payload, forged)
    edit_line(files, index, leaf, new_leaf)
    await resign(evidence, files)
    found = problems(pack(files))
    assert "do not reproduce the anchor checkpoint's root" in found["log/inclusion.json"]


async def test_a_signed_record_changed_in_the_log(
        built: tuple[Evidence, History, bytes]) -> None:
    evidence, history, data = built
    files = members(data)
    index = history.indices["grant"]
    edit_line(files, index, '"history_days":365', '"history_days":3650')
    await resign(evidence, files)
    found = problems(pack(files))
    assert "payload does not match the hash in its leaf" in found[f"entry {index}"]


async def test_a_checkpoint(built: tuple[Evidence, History, bytes]) -> None:
    evidence, _history, data = built
    files = members(data)
    anchor = json.loads(files["checkpoints/index.json"])["anchor"]
    lines = files[anchor].decode().split("\n")
    lines[1] = str(int(lines[1]) + 1)  # claim a bigger tree
    files[anchor] = "\n".join(lines).encode()
    await resign(evidence, files)
    found = problems(pack(files))
    assert "checkpoint does not verify" in found[anchor]
    assert "does not verify" in found[anchor]


async def test_removing_an_entry(built: tuple[Evidence, History, bytes]) -> None:
    evidence, _history, data = built
    files = members(data)
    lines = files["log/entries.tsv"].decode().splitlines(keepends=True)
    removed = lines.pop(3)
    seq = json.loads(removed.split("\t")[1])["seq"]
    files["log/entries.tsv"] = "".join(lines).encode()
    assert "content changed" in problems(pack(files))["log/entries.tsv"]
    await resign(evidence, files, lambda m: m.update(entries=len(lines)))
    found = problems(pack(files))
    assert f"seq [{seq}] are missing" in found["chain consent:c-1"]
    assert "removed" in found["log/inclusion.json"]


async def test_removing_the_last_entries(built: tuple[Evidence, History, bytes]) -> None:
    """Dropping the tail (the accesses after revocation) is caught by the signed claims."""
    evidence, _history, data = built
    files = members(data)
    lines = files["log/entries.tsv"].decode().splitlines(keepends=True)
    files["log/entries.tsv"] = "".join(lines[:-1]).encode()
    await resign(evidence, files, lambda m: m.update(entries=len(lines) - 1))
    found = problems(pack(files))
    assert "differ from the manifest's claim" in found["chain consent:c-1"]


async def test_reordering_entries(built: tuple[Evidence, History, bytes]) -> None:
    evidence, _history, data = built
    files = members(data)
    lines = files["log/entries.tsv"].decode().splitlines(keepends=True)
    lines[2], lines[3] = lines[3], lines[2]
    files["log/entries.tsv"] = "".join(lines).encode()
    await resign(evidence, files)
    found = problems(pack(files))
    moved_back = lines[3].split("\t")[0]
    assert found[f"entry {moved_back}"].startswith("out of order")


async def test_adding_an_entry_of_another_consent(
        built: tuple[Evidence, History, bytes]) -> None:
    evidence, _history, data = built
    other = io.BytesIO()
    await evidence.export(Selection(consent_id="c-2"), other, actor="auditor:cnil-1")
    stranger = next(line for line in members(other.getvalue())["log/entries.tsv"].decode()
                    .splitlines(keepends=True) if '"kind":"access"' in line)
    files = members(data)
    lines = files["log/entries.tsv"].decode().splitlines(keepends=True)
    index = int(stranger.split("\t")[0])
    position = next(i for i, x in enumerate(lines) if int(x.split("\t")[0]) > index)
    lines.insert(position, stranger)
    files["log/entries.tsv"] = "".join(lines).encode()
    await resign(evidence, files)
    found = problems(pack(files))
    assert "outside the bundle's selection" in found[f"entry {index}"]


async def test_swapping_a_key(built: tuple[Evidence, History, bytes]) -> None:
    _evidence, _history, data = built
    files = members(data)
    keys = json.loads(files["keys.json"])
    impostor = PublicKeyInfo(public_bytes(Ed25519PrivateKey.generate()),
                             PublicKeyInfo.from_json(keys["keys"][0]).not_before)
    keys["keys"][0]["public_key"] = b64encode(impostor.public_key)  # kid left as it was
    files["keys.json"] = json.dumps(keys).encode()
    assert "is not the hash of its public key" in problems(pack(files))["keys.json"]
    keys["keys"][0] = impostor.to_json("passerelle.test/evidence")
    files["keys.json"] = json.dumps(keys).encode()
    assert "not in the key history" in problems(pack(files))["manifest.json"]


async def test_untrusted_keys_are_named(built: tuple[Evidence, History, bytes]) -> None:
    evidence, _history, data = built
    report = verify_bundle(io.BytesIO(data), trusted=await evidence.keys.history())
    assert report.ok
    assert "Keys: all 1 bundle keys are trusted." in report.render()
    stranger = PublicKeyInfo(public_bytes(Ed25519PrivateKey.generate()), evidence.clock.now())
    report = verify_bundle(io.BytesIO(data), trusted=KeyHistory([stranger]))
    assert "is not among the trusted keys" in dict(report.problems)["keys.json"]
    assert "Keys: 1 of the 1 bundle keys are not trusted." in report.render()


async def test_trusted_keys_bound_the_validity_the_bundle_claims(
        sqlite_db: Database, clock: FrozenClock) -> None:
    """A key retired by rotation cannot be reopened by editing keys.json and re-signing with
    it a month later: the trusted history's end wins."""
    evidence = scenario.evidence_for(sqlite_db, clock)
    await scenario.build(evidence, clock)
    out = io.BytesIO()
    await evidence.export(Selection(consent_id="c-1"), out, actor="auditor:cnil-1")
    retired = (await evidence.keys.history()).keys[0]
    clock.advance(timedelta(minutes=1))
    await evidence.rotate_key(actor="operator:ana")
    trusted = await evidence.keys.history()
    assert verify_bundle(io.BytesIO(out.getvalue()), trusted=trusted).ok  # signed in time
    clock.advance(timedelta(days=30))
    leaked = MemoryKeyStore(clock=clock)  # someone kept the retired private key
    leaked._keys = [PublicKeyInfo(retired.public_key, retired.not_before)]
    leaked._private = {retired.kid: evidence.keys._private[retired.kid]}  # type: ignore[attr-defined]
    files = members(out.getvalue())
    keys = json.loads(files["keys.json"])
    keys["keys"][0]["not_after"] = None
    files["keys.json"] = json.dumps(keys).encode()
    manifest = dict(json.loads(files["manifest.json"])["record"])
    del manifest["signed_at"]
    manifest["files"] = {n: sha256_hex(c) for n, c in sorted(files.items())
                         if n != "manifest.json"}
    files["manifest.json"] = canonical((await sign_record(leaked, manifest,
                                                          clock.now())).to_json())
    assert verify_bundle(io.BytesIO(pack(files))).ok  # the bundle's own word: fine
    report = verify_bundle(io.BytesIO(pack(files)), trusted=trusted)
    assert not report.ok
    assert "manifest.json" in dict(report.problems)


def _prune_falsely(files: dict[str, bytes], index: int, mark: str) -> None:
    lines = files["log/entries.tsv"].decode().splitlines(keepends=True)
    for i, line in enumerate(lines):
        fields = line.rstrip("\n").split("\t")
        if fields[0] == str(index):
            fields[2], fields[3] = "-", mark
            lines[i] = "\t".join(fields) + "\n"
    files["log/entries.tsv"] = "".join(lines).encode()


@pytest.mark.parametrize(("entry", "mark", "finding"), [
    ("late", "x", "malformed pruning mark"),
    ("late", '{"at":"2026-03-03T10:00:00.000000Z","reason":"R17"}', "less than 31 days"),
    ("late", '{"at":"2030-01-01T00:00:00.000000Z","reason":"R17"}', "after the bundle was"),
    ("revoke", '{"at":"2030-01-01T00:00:00.000000Z","reason":"R17"}', "never pruned"),
])
async def test_a_payload_deleted_as_if_pruned_is_named(
        built: tuple[Evidence, History, bytes], clock: FrozenClock, entry: str, mark: str,
        finding: str) -> None:
    """A dishonest exporter deletes the payload of a served access after the withdrawal, or
    of the withdrawal itself, marks it pruned and re-signs: pruning is only for usage traces
    at least 31 days old, before the export (R17), so the verifier names the entry."""
    evidence, history, _data = built
    clock.advance(timedelta(hours=1))
    late = await evidence.access(scenario.access(clock, outcome=SERVED))
    out = io.BytesIO()
    await evidence.export(Selection(consent_id="c-1"), out, actor="auditor:cnil-1")
    index = late.index if entry == "late" else history.indices["revoke"]
    files = members(out.getvalue())
    _prune_falsely(files, index, mark)
    for name in [n for n in files if entry == "revoke" and "withdraw" in n]:
        del files[name]
    await resign(evidence, files, lambda m: m.update(pruned=int(str(m["pruned"])) + 1))
    assert finding in problems(pack(files))[f"entry {index}"]


def test_retention_prunes_only_usage_traces_and_only_after_31_days() -> None:
    with pytest.raises(ValueError, match="at least 31"):
        RetentionPolicy(detail_days=7)
    with pytest.raises(ValueError, match="may be pruned"):
        RetentionPolicy(kinds=("consent.record",))
    assert RetentionPolicy(detail_days=140, kinds=("retention",)).kinds == ("retention",)


async def test_a_bundle_of_another_consent(built: tuple[Evidence, History, bytes]) -> None:
    evidence, _history, _data = built
    other = io.BytesIO()
    await evidence.export(Selection(consent_id="c-2"), other, actor="auditor:cnil-1")
    found = problems(other.getvalue(), consent_id="c-1")
    assert found["manifest.json"] == "this bundle selects consent c-2, not c-1"


async def test_a_changed_manifest(built: tuple[Evidence, History, bytes]) -> None:
    _evidence, _history, data = built
    files = members(data)
    files["manifest.json"] = files["manifest.json"].replace(b'"consent_id":"c-1"',
                                                            b'"consent_id":"c-2"')
    assert "does not verify" in problems(pack(files))["manifest.json"]


async def test_a_checkpoint_co_signed_across_a_rotation(
        sqlite_db: Database, clock: FrozenClock) -> None:
    """A note holds if one of its verified signatures is by a key in force when it was issued,
    whichever line comes first; a note signed only by a retired key does not."""
    evidence = scenario.evidence_for(sqlite_db, clock)
    await scenario.build(evidence, clock)
    retired = (await evidence.keys.history()).keys[0]
    clock.advance(timedelta(minutes=1))
    await evidence.rotate_key(actor="operator:ana")
    clock.advance(timedelta(minutes=1))
    out = io.BytesIO()
    await evidence.export(Selection(consent_id="c-1"), out, actor="auditor:cnil-1")
    files = members(out.getvalue())
    origin = json.loads(files["manifest.json"])["record"]["origin"]
    anchor = json.loads(files["checkpoints/index.json"])["anchor"]
    body, current_line = files[anchor].decode().split("\n\n")
    text = body + "\n"  # what a signature signs: the note's text, its last newline included
    private = evidence.keys._private[retired.kid]  # type: ignore[attr-defined]
    retired_line = signature_line(retired.note_key(origin), private.sign(text.encode()))

    files[anchor] = assemble(text, [retired_line, current_line]).encode()
    await resign(evidence, files)
    report = verify_bundle(io.BytesIO(pack(files)))
    assert report.ok, report.render()

    files[anchor] = assemble(text, [retired_line]).encode()
    await resign(evidence, files)
    found = problems(pack(files))
    assert f"signed by key {retired.kid[:12]}..., not valid at" in found[anchor]


async def test_the_manifest_must_be_its_canonical_bytes(
        built: tuple[Evidence, History, bytes]) -> None:
    """Finding 8 of review 15c: manifest.json verified whatever its bytes, though its SHA-256
    is what the log (audit.export) and X-Manifest-SHA256 record: a re-serialised manifest, even
    one with a duplicate 'record' that first-wins parsers read as another selection, passed.
    Now the manifest must be its canonical JSON bytes, and every JSON member read refuses
    duplicate keys."""
    evidence, _history, data = built
    files = members(data)
    envelope = json.loads(files["manifest.json"])
    decoy = dict(envelope["record"], exported_by="auditor:someone-else",
                 selection={**envelope["record"]["selection"], "consent_id": "c-2"})
    files["manifest.json"] = (
        f'{{"record": {json.dumps(decoy)},\n "kid": "{envelope["kid"]}", "sig": '
        f'"{envelope["sig"]}", "record": {json.dumps(envelope["record"], indent=2)}}}'
    ).encode()
    assert problems(pack(files))["manifest.json"] == "missing or not strict JSON"
    files["manifest.json"] = json.dumps(envelope, indent=1).encode()
    assert problems(pack(files))["manifest.json"] == \
        "not the canonical JSON bytes of its content"

    files = members(data)
    index = files["checkpoints/index.json"].decode()
    files["checkpoints/index.json"] = ('{"checkpoints": [], ' + index[1:]).encode()
    await resign(evidence, files)
    assert "appears twice" in problems(pack(files))["checkpoints/index.json"]


async def test_the_summary_must_tell_what_was_verified(
        built: tuple[Evidence, History, bytes]) -> None:
    """Finding 7 of review 15c: summary.txt, the first thing a person reads, was only hashed:
    a re-signed bundle could say 'renew -> active, 0 served' over records of a withdrawal. The
    verifier regenerates it from the verified entries and refuses any other text."""
    evidence, _history, data = built
    files = members(data)
    files["summary.txt"] = files["summary.txt"].replace(
        b"withdraw -> withdrawn", b"renew -> active").replace(b"accesses: 5 served",
                                                             b"accesses: 0 served")
    await resign(evidence, files)
    assert problems(pack(files))["summary.txt"].startswith("does not tell what the bundle "
                                                           "proves")


async def test_unknown_vocabulary_fails_closed(sqlite_db: Database, clock: FrozenClock) -> None:
    """Finding 9 of review 15c: a consent record of v 2 was judged as format 1, an access
    whose outcome was 'Served' was counted as not served, and an access was judged at the
    instant its payload said, not its leaf's. Each is now a problem of its entry."""
    evidence = scenario.evidence_for(sqlite_db, clock)
    await scenario.build(evidence, clock)
    clock.advance(timedelta(hours=2))
    record = replace(scenario.grant(clock), version=3, action="resume").to_json()
    record.update(v=2, state="active")
    grant = scenario.grant(clock)
    v2 = await evidence.log.append(LogEvent(
        grant.kind, grant.at, (await sign_record(evidence.keys, record, clock.now())).to_json(),
        grant.refs, grant.chain))
    event = scenario.access(clock).to_log_event()
    served = await evidence.log.append(replace(event, payload={**event.payload,
                                                               "outcome": "Served"}))
    moved = await evidence.log.append(replace(event, at=clock.now() + timedelta(days=400),
                                              payload={**event.payload}))
    out = io.BytesIO()
    await evidence.export(Selection(consent_id="c-1"), out, actor="auditor:cnil-1")
    found = problems(out.getvalue())
    assert found[f"entry {v2.index}"] == "unknown record version 2"
    assert found[f"entry {served.index}"] == "unknown access outcome 'Served'"
    assert found[f"entry {moved.index}"].startswith(f"the access says {event.payload['at']!r}")
