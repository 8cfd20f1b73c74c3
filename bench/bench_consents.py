"""Consent-check latency with 1,000 consents against 1,000,000, on PostgreSQL.

The consent check of a data request is :class:`~proxy.data.facts.FactsLoader` reading the
facts (the recipient's consent on the point, the household's occupancy, the upstream
authorisation) plus :func:`~consent.checks.default_policy` deciding on them. Both databases
live in one throwaway PostgreSQL cluster (durable settings):

* ``small``: 1,000 households, each with one meter, its occupancy and upstream authorisation,
  and one consent to one of 50 recipients, all made through the consent service;
* ``large``: a copy of ``small`` (``CREATE DATABASE ... TEMPLATE``) plus 999 copies of every
  row made by ``INSERT ... SELECT`` with fresh identifiers (ids are ``md5(id:copy)``, meter
  numbers shifted), so 1,000,000 households, meters and consents with the same shape, then
  ``ANALYZE``.

Checks are timed in alternation (small, large, small...) on random households of each, after a
warm-up, and the ratio large/small of the median and of the 99th percentile is printed (target
<= 1.2). Run: ``python bench/bench_consents.py [--copies 999] [--checks 3000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.proxy_world import DurablePostgres
from consent.access import AccessContext, ReadRequest, TokenGrant
from consent.checks import default_policy
from consent.clock import FrozenClock
from consent.identifiers import PointRef, Source
from consent.lifecycle import ActorRole
from consent.models import PartyKind
from consent.periods import DayRange
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.services import registry
from consent.services.base import Actor
from consent.services.consent_rules import ConsentDraft
from consent.services.consents import ConsentService
from consent.storage import Database
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Direction, Energy, Resolution
from proxy.data.facts import FactsLoader

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HOUSEHOLDS = 1000
RECIPIENTS = 50
BASE_PRM = 10_000_000_000_000
#: Tables copied for the large database, parents first; their ``id`` and every foreign key to
#: one of them get a fresh value per copy (recipients and the tenant are shared).
COPIED = ("party", "metering_point", "occupancy", "upstream_authorisation", "consent",
          "consent_point")


async def seed_small(url: str) -> list[tuple[str, str]]:
    """1,000 households through the services; returns (recipient id, meter) per household."""
    clock = FrozenClock(NOW)
    db = Database.from_url(url)
    await db.migrate()
    start = NOW - timedelta(days=800)
    try:
        async with db.session() as session:
            recipients = []
            for r in range(RECIPIENTS):
                recipient, _ = await registry.register_recipient(session, registry.RecipientDraft(
                    name=f"app{r}", website="https://app.example", contact_email="d@app.example",
                    purposes=[Purpose.ENERGY_MONITORING], legal_basis=LegalBasis.CONSENT,
                    data_role=DataRole.CONTROLLER, allowed_datasets=[Dataset.DAILY_CONSUMPTION],
                    redirect_uris=["https://app.example/cb"]), tenant_id="default", now=NOW)
                recipients.append(recipient.id)
            households = []
            for k in range(HOUSEHOLDS):
                ref = PointRef(Source.ENEDIS, f"{BASE_PRM + k:014d}")
                party = await registry.add_party(session, tenant_id="default",
                                                 kind=PartyKind.HOUSEHOLD, name=f"H{k}", now=NOW)
                point = await registry.add_point(session, tenant_id="default", ref=ref,
                                                 energy=Energy.ELECTRICITY,
                                                 directions=[Direction.CONSUMPTION], now=NOW)
                await registry.add_occupancy(session, tenant_id="default", point_id=point.id,
                                             household_id=party.id, starts_at=start,
                                             ends_at=None, now=NOW)
                await registry.add_upstream_authorisation(
                    session, tenant_id="default", point=point, upstream_id=f"DC-{k}",
                    valid_from=start, valid_until=None, state=UpstreamState.ACTIVE, now=NOW)
                households.append((party.id, ref))
        service = ConsentService(db, clock)
        chosen = []
        for k, (household, ref) in enumerate(households):
            recipient = recipients[k % RECIPIENTS]
            await service.give(Actor(ActorRole.SUBJECT, party_id=household), ConsentDraft(
                grantor_id=household, recipient_id=recipient, points=[ref],
                datasets=[Dataset.DAILY_CONSUMPTION], purpose=Purpose.ENERGY_MONITORING,
                valid_until=NOW + timedelta(days=365), max_resolution=Resolution.P1D,
                history_days=1095))
            chosen.append((recipient, ref.identifier))
    finally:
        await db.dispose()
    return chosen


def _copy_statement(table: sa.Table, remapped: set[str]) -> str:
    """``INSERT INTO t SELECT <every column, ids remapped> FROM t, generate_series(1, $1)``."""
    columns = []
    for column in table.columns:
        targets = {fk.column.table.name for fk in column.foreign_keys}
        if (column.primary_key and table.name in remapped and column.name == "id") or (
                targets & remapped):
            expression = f"md5({column.name} || ':' || k)::uuid::text"
        elif table.name == "metering_point" and column.name == "identifier":
            expression = f"lpad((identifier::bigint + k * {HOUSEHOLDS})::text, 14, '0')"
        elif table.name == "upstream_authorisation" and column.name == "upstream_id":
            expression = "upstream_id || '-' || k"
        else:
            expression = column.name
        columns.append(f'"{column.name}"' if expression == column.name else expression)
    names = ", ".join(f'"{c.name}"' for c in table.columns)
    return (f'INSERT INTO "{table.name}" ({names}) SELECT {", ".join(columns)} '  # noqa: S608
            f'FROM "{table.name}", generate_series(1, $1::int) AS k')


async def grow(url: str, copies: int) -> None:
    """Copy the small database's households ``copies`` times (see the module docstring)."""
    from consent.storage.schema import target_metadata

    metadata = target_metadata()
    parsed = make_url(url)
    conn = await asyncpg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                                 database=parsed.database)
    try:
        for name in COPIED:
            started = time.perf_counter()
            await conn.execute(_copy_statement(metadata.tables[name], set(COPIED)), copies)
            print(f"  {name}: {time.perf_counter() - started:.1f} s", flush=True)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def one_check(loader: FactsLoader, recipient: str, identifier: str) -> float:
    """Facts + policy for one read of last week's daily values; seconds."""
    point = PointRef(Source.ENEDIS, identifier)
    started = time.perf_counter()
    facts = await loader.load(recipient_id=recipient, consent_id=None, point=point, at=NOW)
    days = DayRange.parse("2026-11-14", "2026-11-21")
    request = ReadRequest(point=point, dataset=Dataset.DAILY_CONSUMPTION, at=NOW,
                          window=days.to_period(facts.timezone), resolution=Resolution.P1D,
                          timezone=facts.timezone)
    grant = TokenGrant(recipient_id=recipient, expires_at=NOW + timedelta(hours=1))
    default_policy().enforce(AccessContext(request, grant, facts.consent, facts.facts))
    return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1] * 1000


async def main(args: argparse.Namespace) -> None:
    with DurablePostgres() as admin_url:
        admin = make_url(admin_url)
        conn = await asyncpg.connect(host=admin.host, port=admin.port, user=admin.username,
                                     database="postgres")
        await conn.execute('CREATE DATABASE "small"')
        urls = {name: admin.set(database=name).render_as_string(hide_password=False)
                for name in ("small", "large")}
        started = time.perf_counter()
        households = await seed_small(urls["small"])
        chosen = {"small": households, "large": households}
        await conn.execute('CREATE DATABASE "large" TEMPLATE "small"')  # the same 1,000
        await conn.close()
        print(f"seeded {HOUSEHOLDS} households through the services in "
              f"{time.perf_counter() - started:.0f} s; growing 'large' x{args.copies + 1}:")
        started = time.perf_counter()
        await grow(urls["large"], args.copies)
        print(f"  total {time.perf_counter() - started:.0f} s")
        # The large database's households: the template's and every copy's (same recipients).
        copies = args.copies
        large_sample = [(r, f"{int(i) + k * HOUSEHOLDS:014d}")
                        for r, i in chosen["large"] for k in range(0, copies + 1, 97)]
        databases = {name: Database.from_url(url) for name, url in urls.items()}
        loaders = {name: FactsLoader(db) for name, db in databases.items()}
        rng = random.Random(7)
        times: dict[str, list[float]] = {"small": [], "large": []}
        try:
            for _ in range(200):  # warm-up: pools, plans, caches
                for name, sample in (("small", chosen["small"]), ("large", large_sample)):
                    await one_check(loaders[name], *rng.choice(sample))
            for _ in range(args.checks):
                for name, sample in (("small", chosen["small"]), ("large", large_sample)):
                    times[name].append(await one_check(loaders[name], *rng.choice(sample)))
            counts = {}
            for name, db in databases.items():
                async with db.engine.connect() as c:
                    counts[name] = (await c.execute(sa.text("SELECT count(*) FROM consent"))
                                    ).scalar_one()
        finally:
            for db in databases.values():
                await db.dispose()
    small, large = times["small"], times["large"]
    print(f"consent checks ({args.checks} each, alternating, facts + policy, PostgreSQL):")
    for name, values in (("small", small), ("large", large)):
        print(f"  {counts[name]:>9,} consents   p50 {pct(values, 0.5):6.3f} ms   "
              f"p99 {pct(values, 0.99):6.3f} ms")
    print(f"  ratio large/small: p50 {pct(large, 0.5) / pct(small, 0.5):.2f}, "
          f"p99 {pct(large, 0.99) / pct(small, 0.99):.2f} (target <= 1.2)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=999,
                        help="copies of the 1,000 households in the large database")
    parser.add_argument("--checks", type=int, default=3000)
    asyncio.run(main(parser.parse_args()))
