"""The evidence subsystem as one object: what the consent lifecycle, the proxy and the audit API
call. Typical use::

    evidence = Evidence.open(db, settings.data_dir, origin="passerelle.example/evidence")
    await evidence.record(ConsentRecord(...))          # a consent or mandate change (signed)
    await evidence.record_in(conn, ConsentRecord(...)) # ... inside the caller's transaction
    await evidence.access(AccessEvent(...))            # every proxied data access (R16)
    await evidence.admin(AdminEvent(...))              # operator and auditor actions
    await evidence.export(Selection(consent_id=...), out, actor="auditor:cnil-1")
    await evidence.aclose()                            # at shutdown: flush queued appends

Each call returns once the event is durable in the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from consent.clock import Clock, SystemClock
from consent.evidence.access_trail import AccessTrail
from consent.evidence.blobs import BlobStore
from consent.evidence.blobs_db import DatabaseBlobStore
from consent.evidence.bundle import ExportResult, Progress, export_bundle
from consent.evidence.canonical import b64encode, format_instant
from consent.evidence.checkpoints import Checkpoints, SignedCheckpoint
from consent.evidence.errors import EvidenceUnavailable
from consent.evidence.events import KEY_ROTATED, AccessEvent, AdminEvent, LogEvent
from consent.evidence.keys import PublicKeyInfo
from consent.evidence.keystore import KeyStore
from consent.evidence.keystore_db import DatabaseKeyStore
from consent.evidence.layout import Appended
from consent.evidence.log import EvidenceLog
from consent.evidence.records import Record
from consent.evidence.retention import PruneResult, RetentionPolicy, prune
from consent.evidence.secrets import Keyring
from consent.evidence.selection import Selection
from consent.evidence.signing import SignedRecord, sign_record
from consent.evidence.witness import FileHeadWitness, HeadWitness
from consent.storage.database import Database

#: Where an instance without ``$PASSERELLE_EVIDENCE_KEYS`` keeps its evidence keys, under its
#: data directory (one process only: replicas must share the keys, docs/operations.md).
KEYRING_FILE = Path("secrets") / "evidence.keys"
#: Where an instance keeps the last tree head it signed, under its data directory
#: (:mod:`consent.evidence.witness`): not in the database, on purpose.
SIGNED_HEAD_FILE = Path("evidence-signed-head.json")

#: What :meth:`Evidence.cannot_sign` signs (and forgets): no record, checkpoint or note.
_READY_PROBE = b"passerelle/evidence/ready-probe"


def origin_for(public_url: str) -> str:
    """Default log origin for an instance: its public URL without scheme, plus ``/evidence``
    (a schema-less URL, as tlog-checkpoint recommends)."""
    parts = urlsplit(public_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/evidence"


@dataclass(frozen=True, slots=True)
class RecordedChange:
    """A signed record and where it sits in the log."""

    signed: SignedRecord
    entry: Appended


class Evidence:
    """Signed records, the log, checkpoints, documents and bundles of one instance."""

    def __init__(self, db: Database, keys: KeyStore, blobs: BlobStore, *, origin: str,
                 clock: Clock | None = None, max_batch: int = 1000,
                 max_latency: float = 0.0, witness: HeadWitness | None = None) -> None:
        self.clock = clock or SystemClock()
        self.keys = keys
        self.blobs = blobs
        self.log = EvidenceLog(db, origin=origin, clock=self.clock, max_batch=max_batch,
                               max_latency=max_latency)
        self.checkpoints = Checkpoints(self.log, keys, clock=self.clock, witness=witness)

    async def origin(self) -> str:
        """The log's origin (``origin`` above is only the default for a new log)."""
        return await self.log.origin()

    @classmethod
    def open(cls, db: Database, data_dir: Path, *, origin: str,
             clock: Clock | None = None, keyring: Keyring | None = None) -> Evidence:
        """The production wiring: signing keys and proof documents in the database (nothing
        on disk, so replicas share nothing but the database), both sealed with ``keyring``,
        by default the one of ``$PASSERELLE_EVIDENCE_KEYS`` or ``data_dir/secrets/evidence.keys``
        (:data:`KEYRING_FILE`). The last signed head is kept out of the database's reach, at
        ``$PASSERELLE_SIGNED_HEAD_FILE`` or in ``data_dir`` (:data:`SIGNED_HEAD_FILE`)."""
        keyring = keyring or Keyring.from_environment(data_dir / KEYRING_FILE)
        return cls(db, DatabaseKeyStore(db, keyring, clock=clock),
                   DatabaseBlobStore(db, keyring, clock=clock), origin=origin, clock=clock,
                   witness=FileHeadWitness.from_environment(data_dir / SIGNED_HEAD_FILE))

    async def record(self, record: Record) -> RecordedChange:
        """Sign a consent or mandate change and append it to the log (R18)."""
        signed = await sign_record(self.keys, record.to_json(), self.clock.now())
        entry = await self.log.append(
            LogEvent(record.kind, record.at, signed.to_json(), record.refs, record.chain))
        return RecordedChange(signed, entry)

    async def record_in(self, conn: AsyncConnection, record: Record) -> RecordedChange:
        """:meth:`record`, inside the caller's transaction on ``conn``: the record is durable
        exactly when that transaction commits (the lifecycle listeners' way, so a change and
        its record cannot part). The signing key must exist already (:meth:`open_key`)."""
        signed = await sign_record(self.keys, record.to_json(), self.clock.now())
        staged = await self.log.append_in(conn, [
            LogEvent(record.kind, record.at, signed.to_json(), record.refs, record.chain)])
        return RecordedChange(signed, staged.results[0])

    async def admin_in(self, conn: AsyncConnection, event: AdminEvent) -> Appended:
        """:meth:`admin`, inside the caller's transaction on ``conn`` (the action and its
        trace commit together)."""
        return (await self.log.append_in(conn, [event.to_log_event()])).results[0]

    def access_trail(self) -> AccessTrail:
        """What the data path's group-commit sink runs in each batch's transaction."""
        return AccessTrail(self.log)

    async def open_key(self) -> SignedCheckpoint:
        """Make sure a signing key exists (by signing a checkpoint), so that no transaction
        that signs inside itself has to create one, and that this process can use it: a
        checkpoint already stored for the log's size is returned without signing, so a probe
        is signed too, and a keyring that cannot open the current key raises
        :class:`EvidenceUnavailable` here rather than in every later write. Call once at
        start."""
        checkpoint = await self.checkpoint()
        await self.keys.sign(b"passerelle/evidence/open-key-probe", at=self.clock.now())
        return checkpoint

    async def cannot_sign(self) -> EvidenceUnavailable | None:
        """Why this process could not sign now, or ``None``: a probe signed with the key valid
        now (opened from the store once, then cached), nothing written. No key yet is not a
        reason: the first signature opens one. ``/readyz`` asks this, so that a replica that
        can no longer sign (a key rotated under evidence keys it lacks, its clock gone behind)
        says so once running, as :meth:`open_key` makes it say at start."""
        if not (await self.keys.history()).keys:
            return None
        try:
            await self.keys.sign(_READY_PROBE, at=self.clock.now())
        except EvidenceUnavailable as error:
            return error
        return None

    async def access(self, event: AccessEvent) -> Appended:
        """Log one data access, served or denied (R16)."""
        return await self.log.append(event.to_log_event())

    async def admin(self, event: AdminEvent) -> Appended:
        """Log an operator or auditor action (R16, R19)."""
        return await self.log.append(event.to_log_event())

    async def checkpoint(self) -> SignedCheckpoint:
        """Sign the current tree head (or return the stored checkpoint of that size)."""
        return await self.checkpoints.issue()

    async def rotate_key(self, *, actor: str) -> PublicKeyInfo:
        """Open a new signing key, keep the old one published, and log the rotation at the
        instant the store opened it (a shared store may open it later than asked: it waits for
        the signers still using the old key, :mod:`.keystore_db`)."""
        key = await self.keys.rotate(at=self.clock.now())
        await self.log.append(LogEvent(KEY_ROTATED, key.not_before, {
            "kid": key.kid, "public_key": b64encode(key.public_key),
            "not_before": format_instant(key.not_before), "actor": actor}))
        return key

    async def export(self, selection: Selection, out: BinaryIO, *, actor: str,
                     progress: Progress | None = None, include_documents: bool = True,
                     checkpoint_sizes: Sequence[int] = ()) -> ExportResult:
        """Write the proof bundle of ``selection`` to ``out`` (a zip) and log the export; it
        also carries the stored checkpoints of ``checkpoint_sizes`` (an auditor's kept
        anchors: :class:`~consent.evidence.errors.MissingCheckpoint` if one is not held)."""
        return await export_bundle(self, selection, out, actor=actor, progress=progress,
                                   include_documents=include_documents,
                                   checkpoint_sizes=checkpoint_sizes)

    async def export_to_path(self, selection: Selection, path: Path, *, actor: str,
                             progress: Progress | None = None, include_documents: bool = True,
                             checkpoint_sizes: Sequence[int] = ()) -> ExportResult:
        """:meth:`export` into a file, atomically: a failed export leaves no partial bundle."""
        partial = path.with_name(path.name + ".partial")
        try:
            with partial.open("wb") as out:
                result = await self.export(selection, out, actor=actor, progress=progress,
                                           include_documents=include_documents,
                                           checkpoint_sizes=checkpoint_sizes)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        return result

    async def export_for_household(self, household_id: str, out: BinaryIO, *, tenant: str,
                                   actor: str) -> ExportResult:
        """The household's own bundle (GDPR art. 15, R18): its consents' and mandates' signed
        records, every access to its data, its proof documents; logged like any export."""
        return await self.export(Selection(tenant=tenant, household_id=household_id), out,
                                 actor=actor)

    async def prune(self, policy: RetentionPolicy | None = None,
                    now: datetime | None = None) -> PruneResult:
        """Drop payloads past retention, keeping leaves and weekly counts (R17)."""
        return await prune(self, policy or RetentionPolicy(), now)

    async def aclose(self) -> None:
        """Wait until every queued append is written."""
        await self.log.aclose()
