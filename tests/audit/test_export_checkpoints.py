"""``POST /audit/v1/exports`` with ``checkpoint_sizes``: the bundle carries the stored
checkpoints of the sizes an auditor kept, and the offline verifier holds it against them
(docs/evidence-format.md §10 step 3, §11)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import sqlalchemy as sa

from consent.evidence.keys import KeyHistory, PublicKeyInfo
from consent.evidence.log_reader import ENTRY
from consent.evidence.verify import Expectation, verify_bundle
from consent.evidence.verify_kept import load_kept
from proxy.keys import evidence_key
from tests.audit.flow import auditor, call, consent_through_oauth, members, read_daily
from tests.proxy.world import World

EXPORTS = "/audit/v1/exports"


async def test_an_export_carries_the_checkpoints_the_auditor_kept(world: World,
                                                                  tmp_path: Path) -> None:
    token = await consent_through_oauth(world)
    inspector = await auditor(world, "inspector")
    status, body, _ = await call(world, "POST", "/audit/v1/checkpoints", inspector)
    assert status == 201
    issued = json.loads(body)
    kept_note = tmp_path / f"{issued['size']}.note"
    kept_note.write_text(issued["note"])
    for _ in range(3):
        assert (await read_daily(world, token["access_token"]))[0] == 200
    status, body, _ = await call(world, "POST", "/audit/v1/checkpoints", inspector)
    assert json.loads(body)["size"] > issued["size"] + 1

    consent = {"consent_id": token["consent_id"]}
    status, bundle, _ = await call(world, "POST", EXPORTS, inspector,
                                   {**consent, "checkpoint_sizes": [issued["size"]]})
    assert status == 200, bundle
    index = json.loads(members(bundle)["checkpoints/index.json"])
    [item] = [i for i in index["checkpoints"] if i["size"] == issued["size"]]
    assert item["anchor"] is False
    assert item["consistency"]
    assert members(bundle)[item["file"]].decode() == issued["note"]

    status, body, _ = await call(world, "GET", "/audit/v1/keys", inspector)
    trusted = KeyHistory(PublicKeyInfo.from_json(k) for k in json.loads(body)["keys"])
    report = verify_bundle(io.BytesIO(bundle), trusted=trusted,
                           kept=[load_kept(kept_note, trusted)],
                           expect=Expectation(consent_id=token["consent_id"]))
    assert report.exit_code == 0, report.render()
    assert f"Kept checkpoints: size {issued['size']} equal" in report.render()


async def test_sizes_the_server_cannot_give_are_refused(world: World) -> None:
    token = await consent_through_oauth(world)
    inspector = await auditor(world, "inspector")
    consent = {"consent_id": token["consent_id"]}
    evidence = world.client.app[evidence_key]
    head, _root = await evidence.log.head()
    unsigned = [size for size in range(1, head)
                if await evidence.checkpoints.at_size(size) is None]
    never_signed = unsigned[0]
    for size, says in ((never_signed, f"No signed checkpoint of size {never_signed} is "
                                      "stored"),
                       (head + 1000, f"No checkpoint of size {head + 1000} can be exported")):
        status, body, headers = await call(world, "POST", EXPORTS, inspector,
                                           {**consent, "checkpoint_sizes": [size]})
        assert status == 409, body
        assert headers["Content-Type"].startswith("application/problem+json")
        problem = json.loads(body)
        assert problem["type"].endswith("/missing-checkpoint")
        assert problem["size"] == size
        assert says in problem["detail"]
        assert "evidence of tampering" in problem["detail"]

    for sizes in (list(range(65)), [-1], [True], ["3"], [1.5], "3", {"size": 3}):
        status, body, headers = await call(world, "POST", EXPORTS, inspector,
                                           {**consent, "checkpoint_sizes": sizes})
        assert status == 400, (sizes, body)
        assert headers["Content-Type"].startswith("application/problem+json")
        assert json.loads(body)["field"] == "checkpoint_sizes"
    status, _, _ = await call(world, "POST", EXPORTS, inspector,
                              {**consent, "checkpoint_sizes": [0] * 64})
    assert status == 200

    # Nothing refused was exported: no audit.export of it (each 409 is an
    # audit.export.refused entry; the 400s never reached the log).
    status, body, _ = await call(world, "GET", "/audit/v1/entries", inspector,
                                 kind="audit.export")
    assert len(json.loads(body)["entries"]) == 1


async def _logged(world: World, kind: str) -> list[dict[str, object]]:
    async with world.client.app[evidence_key].log.db.engine.connect() as conn:
        rows = await conn.execute(sa.select(ENTRY.c.payload).where(ENTRY.c.kind == kind)
                                  .order_by(ENTRY.c.idx))
        return [json.loads(payload) for (payload,) in rows]


async def test_the_sizes_asked_and_a_refusal_are_logged(world: World) -> None:
    """Review 17 item 2: ``audit.export`` did not record the checkpoint sizes the auditor
    asked for, and a refused export (409 ``missing-checkpoint``) left no trace at all: an
    operator could not see that an auditor holding a checkpoint was refused, the first sign
    of a log that lost it. Both are logged now, the refusal as its own kind, and a later
    bundle of the same selection carries it and still verifies."""
    token = await consent_through_oauth(world)
    inspector = await auditor(world, "inspector")
    consent = {"consent_id": token["consent_id"]}
    evidence = world.client.app[evidence_key]
    kept = (await evidence.checkpoint()).size
    assert (await read_daily(world, token["access_token"]))[0] == 200
    status, _bundle, _ = await call(world, "POST", EXPORTS, inspector,
                                    {**consent, "checkpoint_sizes": [kept]})
    assert status == 200
    [exported] = await _logged(world, "audit.export")
    assert exported["checkpoint_sizes"] == [kept]

    head, _root = await evidence.log.head()
    status, _body, _ = await call(world, "POST", EXPORTS, inspector,
                                  {**consent, "checkpoint_sizes": [head + 1000, kept]})
    assert status == 409
    [refused] = await _logged(world, "audit.export.refused")
    assert refused["actor"] == "auditor:inspector"
    assert refused["checkpoint_sizes"] == [kept, head + 1000]
    assert refused["missing"] == head + 1000
    assert refused["selection"]["consent_id"] == token["consent_id"]  # type: ignore[index]

    status, bundle, _ = await call(world, "POST", EXPORTS, inspector, consent)
    assert status == 200
    report = verify_bundle(io.BytesIO(bundle), accept_bundle_keys=True,
                           expect=Expectation(consent_id=token["consent_id"]))
    assert report.ok, report.render()
    kinds = [json.loads(line.split("\t")[1])["kind"]
             for line in members(bundle)["log/entries.tsv"].decode().splitlines()]
    assert "audit.export.refused" in kinds
