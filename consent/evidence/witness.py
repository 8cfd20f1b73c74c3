"""The last tree head this instance signed, kept out of the database writer's reach.

The server signs checkpoints of the log its database holds. Someone who can write to that
database without any key could rewrite entries and the tree above them, remove the stored
checkpoint of a size, and have the server sign that size again with another root: a fork
(docs/evidence-format.md §11). A :class:`HeadWitness` remembers the ``(size, root)`` of the last
checkpoint this instance signed or vouched for, somewhere the database writer cannot reach
(a file in the instance's own data directory), and :class:`~consent.evidence.checkpoints
.Checkpoints` refuses to sign a head that is not an append-only extension of it (RFC 9162
§2.1.4 consistency, proven from the database's own tree): the attack ends in a refusal and a
critical log line instead of a signature.

What it cannot see: a rewrite of entries the instance never signed over (after its last
checkpoint), and anything before the witness's first head (a new data directory trusts the
log it first signs, "trust on first use"). Replicas each keep their own witness; each checks.
A log whose first signing key is not the witnessed one is another log (a developer's new
database beside an old data directory): the witness starts afresh on it, with a warning. A
writer who empties the key table to pass for one gains nothing stealthy: the server then signs
with a new key no auditor trusts, and every record signed before stops verifying.

Implementations: :class:`FileHeadWitness` (production, one small JSON file written atomically)
and :class:`MemoryHeadWitness` (one process's lifetime: tests, and instances without a data
directory). Both pass ``tests/evidence/test_witness.py``'s contract suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from consent.evidence.canonical import b64decode, b64encode
from consent.evidence.errors import EvidenceUnavailable

#: Names the witness file when the data directory is not the place (read-only replicas).
ENVIRONMENT_VARIABLE = "PASSERELLE_SIGNED_HEAD_FILE"
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WitnessedHead:
    """A signed tree head: the log's origin, its size and RFC 6962 root, and the log's identity:
    the ``kid`` of its first signing key (a new database makes a new first key; a writer
    without keys cannot give the log another without every later signature failing)."""

    origin: str
    size: int
    root: bytes
    first_key: str = ""

    def same_log(self, other: WitnessedHead) -> bool:
        return (self.origin, self.first_key) == (other.origin, other.first_key)


class HeadWitness(Protocol):
    """Where the last signed head is kept. ``keep`` never moves it backwards: a smaller head
    than the one kept is ignored (another process may have kept a larger one meanwhile)."""

    async def last(self) -> WitnessedHead | None: ...

    async def keep(self, head: WitnessedHead) -> None: ...

    async def forget(self) -> None: ...


class MemoryHeadWitness:
    """The last head signed by this process, in memory."""

    def __init__(self) -> None:
        self._head: WitnessedHead | None = None

    async def last(self) -> WitnessedHead | None:
        return self._head

    async def keep(self, head: WitnessedHead) -> None:
        if self._head is None or head.size > self._head.size or not head.same_log(self._head):
            self._head = head

    async def forget(self) -> None:
        self._head = None


class FileHeadWitness:
    """The last signed head in a JSON file (``{"origin", "size", "root", "first_key"}``), replaced
    atomically (written and synced under a temporary name, then renamed), so a crash leaves
    the old head or the new one, never a torn file. An unreadable file is an error, not an
    absent one: silently starting over would forget what it was kept for.

    A replica on a read-only file system (docs/operations.md: replicas keep nothing) cannot
    write it: the head is then kept in memory, with one warning, so forks are still refused
    for the process's lifetime; ``$PASSERELLE_SIGNED_HEAD_FILE`` names a writable path
    (:meth:`from_environment`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._memory = MemoryHeadWitness()
        self._warned = False

    @classmethod
    def from_environment(cls, default: Path) -> FileHeadWitness:
        """The witness at ``$PASSERELLE_SIGNED_HEAD_FILE``, else at ``default``."""
        named = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
        return cls(Path(named) if named else default)

    async def last(self) -> WitnessedHead | None:
        stored, held = await asyncio.to_thread(self._read), await self._memory.last()
        if held is not None and (stored is None or not stored.same_log(held)
                                 or held.size > stored.size):
            return held
        return stored

    async def keep(self, head: WitnessedHead) -> None:
        try:
            await asyncio.to_thread(self._write, head)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                logger.warning("the signed-head witness cannot be written to %s (%s): kept in "
                               "memory only, for this process's lifetime; set %s to a "
                               "writable, lasting path", self.path, exc.strerror,
                               ENVIRONMENT_VARIABLE)
            await self._memory.keep(head)

    async def forget(self) -> None:
        await self._memory.forget()
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self.path.unlink)

    def _read(self) -> WitnessedHead | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise EvidenceUnavailable(f"The signed-head witness {self.path} cannot be read: "
                                      f"{exc.strerror}.") from None
        try:
            value = json.loads(text)
            head = WitnessedHead(value["origin"], value["size"], b64decode(value["root"]),
                                 value.get("first_key", ""))
            if (not isinstance(head.origin, str) or type(head.size) is not int
                    or head.size < 0 or len(head.root) != 32
                    or not isinstance(head.first_key, str)):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise EvidenceUnavailable(
                f"The signed-head witness {self.path} is damaged; see docs/operations.md, "
                "\"Evidence log forked or rolled back\".") from None
        return head

    def _write(self, head: WitnessedHead) -> None:
        current = self._read()
        if current is not None and current.same_log(head) and head.size <= current.size:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"origin": head.origin, "size": head.size,
                           "root": b64encode(head.root), "first_key": head.first_key}).encode()
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            os.unlink(temporary)
            raise
