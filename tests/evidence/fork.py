"""The fork of docs/evidence-format.md §11 (review 15c, reproduced), done the way someone who
can write to the database but holds no key would do it: rewrite a log entry, rebuild the tree
above it, cut the log back to a size the server had signed, delete the checkpoints that cover
the rewritten entry. The server then signs that size again, with another root."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select, update

from consent.evidence.canonical import canonical, sha256_hex
from consent.evidence.checkpoints import CHECKPOINT
from consent.evidence.log_reader import ENTRY, HEAD, LOG_ID, NODE
from consent.evidence.merkle import CompactRange, leaf_hash
from consent.storage.database import Database


async def fork(db: Database, size: int, index: int,
               change: Callable[[dict[str, Any]], None]) -> None:
    """Cut the log to ``size`` entries, ``change`` the payload of entry ``index`` (its leaf
    follows), rebuild every tree node and the head, and delete each stored checkpoint that
    covers ``index``. Nothing is signed: no key is needed."""
    assert index < size
    async with db.engine.begin() as conn:
        await conn.execute(delete(ENTRY).where(ENTRY.c.idx >= size))
        row = (await conn.execute(select(ENTRY.c.leaf, ENTRY.c.payload)
                                  .where(ENTRY.c.idx == index))).one()
        payload = json.loads(row.payload)
        change(payload)
        payload_text = canonical(payload).decode()
        leaf = json.loads(row.leaf)
        leaf["payload"] = sha256_hex(payload_text.encode())
        leaf_text = canonical(leaf).decode()
        await conn.execute(update(ENTRY).where(ENTRY.c.idx == index).values(
            payload=payload_text, payload_sha256=leaf["payload"], leaf=leaf_text,
            leaf_hash=leaf_hash(leaf_text.encode())))
        hashes = (await conn.execute(select(ENTRY.c.leaf_hash).order_by(ENTRY.c.idx))).all()
        assert len(hashes) == size
        compact = CompactRange()
        nodes = [{"level": level, "idx": i, "hash": h}
                 for (digest,) in hashes for level, i, h in compact.append(bytes(digest))]
        await conn.execute(delete(NODE))
        await conn.execute(NODE.insert(), nodes)
        await conn.execute(update(HEAD).where(HEAD.c.log_id == LOG_ID).values(
            size=size, root=compact.root()))
        await conn.execute(delete(CHECKPOINT).where(CHECKPOINT.c.size > index))
