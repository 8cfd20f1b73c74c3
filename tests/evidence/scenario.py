"""A small, realistic evidence history to export and verify: a household grants an energy coach
two datasets of its Linky meter with a signed mandate document, the coach reads, the household
revokes, the coach is denied."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from consent.clock import FrozenClock
from consent.evidence.blobs_db import DatabaseBlobStore
from consent.evidence.events import DENIED, SERVED, AccessEvent
from consent.evidence.keystore import MemoryKeyStore
from consent.evidence.records import (
    Actor,
    Authentication,
    ConsentRecord,
    DocumentRef,
    Notice,
    RecipientTerms,
    Scope,
)
from consent.evidence.secrets import Keyring
from consent.evidence.service import Evidence
from consent.storage.database import Database
from tests.evidence import documents

ORIGIN = "passerelle.test/evidence"
POINT = "enedis:22516914714270"
OTHER_POINT = "enedis:30001610071845"


def evidence_for(db: Database, clock: FrozenClock, **options: int) -> Evidence:
    """Evidence on ``db``, its proof documents sealed in the database like in production."""
    blobs = DatabaseBlobStore(db, Keyring([bytes(range(32))]), clock=clock)
    return Evidence(db, MemoryKeyStore(clock=clock), blobs, origin=ORIGIN, clock=clock,
                    **options)


@dataclass
class History:
    consent_id: str
    indices: dict[str, int] = field(default_factory=dict)


def grant(clock: FrozenClock, consent_id: str = "c-1", household: str = "h-1",
          recipient: str = "r-coach", documents_: tuple[DocumentRef, ...] = (),
          point: str = POINT) -> ConsentRecord:
    now = clock.now()
    return ConsentRecord(
        tenant="t1", consent_id=consent_id, version=1, action="grant", state="active", at=now,
        household_id=household,
        recipient=RecipientTerms(recipient, "Coach Énergie", "controller",
                                 ("energy_advice",), "consent"),
        purpose="energy_advice", legal_basis="consent",
        scope=Scope((point,), ("daily_consumption", "consumption_load_curve"), "PT30M",
                    None, 365),
        valid_from=now, valid_until=now + timedelta(days=365),
        actor=Actor("subject", "web", party_id=household),
        notice=Notice("v3", "ab" * 32, "fr"),
        authentication=Authentication("franceconnect", "fc-sub-42", now,
                                      "https://fc.example", "eidas2"),
        documents=documents_)


def access(clock: FrozenClock, outcome: str = SERVED, consent_id: str | None = "c-1",
           point: str = POINT, dataset: str = "daily_consumption", **extra: str) -> AccessEvent:
    now = clock.now()
    return AccessEvent(at=now, tenant="t1", recipient_id=extra.get("recipient", "r-coach"),
                       point=point, dataset=dataset, window_start=now - timedelta(days=7),
                       window_end=now - timedelta(days=1), outcome=outcome,
                       consent_id=consent_id, household_id=extra.get("household", "h-1"),
                       resolution="P1D",
                       rule=extra.get("rule"))


async def build(evidence: Evidence, clock: FrozenClock, accesses: int = 5) -> History:
    """Grant (with a mandate PDF), serve ``accesses`` reads, revoke, deny one read; plus noise
    from another household that must stay out of this consent's bundle."""
    history = History("c-1")
    pdf = documents.pdf()
    stored = await evidence.blobs.put("doc-mandate", pdf, "application/pdf", tenant="t1")
    ref = DocumentRef("doc-mandate", "signed_mandate", stored.media_type, stored.sha256,
                      stored.size, "accepted")
    record = grant(clock, documents_=(ref,))
    history.indices["grant"] = (await evidence.record(record)).entry.index
    await evidence.checkpoint()
    other = grant(clock, consent_id="c-2", household="h-2", recipient="r-solar",
                  point=OTHER_POINT)
    await evidence.record(other)
    for _ in range(accesses):
        clock.advance(timedelta(hours=6))
        await evidence.access(access(clock))
    await evidence.access(access(clock, consent_id="c-2", point=OTHER_POINT,
                                 recipient="r-solar", household="h-2"))
    clock.advance(timedelta(days=1))
    revoke = replace(record, version=2, action="withdraw", state="withdrawn", at=clock.now(),
                     notice=None, reason="no longer wanted",
                     authentication=Authentication("franceconnect", "fc-sub-42", clock.now()))
    history.indices["revoke"] = (await evidence.record(revoke)).entry.index
    clock.advance(timedelta(hours=1))
    history.indices["denied"] = (await evidence.access(
        access(clock, outcome=DENIED, rule="consent withdrawn"))).index
    await evidence.checkpoint()
    return history
