"""Seeding a demo plan into an empty database, and describing it for ``demo show``.

:func:`seed_demo` writes the whole plan in one transaction, and only into a tenant that has no
party yet: a second call (or a call on a real instance) changes nothing. Passwords are hashed
with argon2id and client secrets stored as hashes, as for any account or recipient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from consent.clock import Clock
from consent.demo.plan import DemoPlan
from consent.demo.seed_market import seed_market
from consent.identifiers import Source
from consent.models import AccountRole, Party, PartyKind
from consent.services import registry
from consent.storage import Database
from consent.upstream import UpstreamKind, UpstreamState


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What :func:`seed_demo` did: ``seeded`` is False when the tenant was not empty."""

    seeded: bool
    households: int = 0
    points: int = 0
    recipients: int = 0
    accounts: int = 0


async def seed_demo(db: Database, plan: DemoPlan, clock: Clock,
                    dataconnect_callback: str | None = None) -> SeedReport:
    """Seed ``plan`` if its tenant is empty; otherwise do nothing (idempotent).
    ``dataconnect_callback`` is added to the redirect URIs of the apps that ask for it."""
    now = clock.now()
    tenant = plan.tenant_id
    try:
        async with db.session() as session:
            if not await registry.tenant_is_empty(session, tenant):
                return SeedReport(seeded=False)
            organisations: dict[str, Party] = {}
            for staff in plan.staff:
                if staff.organisation not in organisations:
                    organisations[staff.organisation] = await registry.add_party(
                        session, tenant_id=tenant, kind=staff.organisation_kind,
                        name=staff.organisation, now=now,
                        party_id=plan.id_for("organisation", staff.organisation))
                person = await registry.add_party(
                    session, tenant_id=tenant, kind=PartyKind.PERSON, name=staff.name, now=now,
                    member_of_id=organisations[staff.organisation].id,
                    party_id=plan.id_for("party", staff.key))
                await registry.add_account(
                    session, tenant_id=tenant, username=staff.username, password=staff.password,
                    party_id=person.id, roles=staff.roles, now=now,
                    account_id=plan.id_for("account", staff.key))
            for household in plan.households:
                party = await registry.add_party(
                    session, tenant_id=tenant, kind=PartyKind.HOUSEHOLD, name=household.name,
                    email=household.email, now=now, party_id=plan.id_for("party", household.key))
                await registry.add_account(
                    session, tenant_id=tenant, username=household.username,
                    password=household.password, party_id=party.id,
                    roles=[AccountRole.HOUSEHOLD], now=now,
                    account_id=plan.id_for("account", household.key))
            for demo_point in plan.points:
                point = await registry.add_point(
                    session, tenant_id=tenant, ref=demo_point.ref, energy=demo_point.energy,
                    directions=demo_point.directions, now=now,
                    point_id=plan.id_for("point", demo_point.key))
                for n, occupancy in enumerate(demo_point.occupancies, start=1):
                    household_id = plan.id_for("party", occupancy.household)
                    await registry.add_occupancy(
                        session, tenant_id=tenant, point_id=point.id, household_id=household_id,
                        starts_at=occupancy.starts_at, ends_at=occupancy.ends_at, now=now)
                    ongoing = occupancy.ends_at is None
                    await registry.add_upstream_authorisation(
                        session, tenant_id=tenant, point=point, household_id=household_id,
                        upstream_id=_upstream_id(demo_point.source, demo_point.identifier, n),
                        valid_from=occupancy.starts_at,
                        valid_until=plan.upstream_valid_until if ongoing else occupancy.ends_at,
                        state=UpstreamState.ACTIVE if ongoing else UpstreamState.ENDED, now=now)
            for recipient in plan.recipients:
                organisation = organisations.get(recipient.organisation or "")
                await registry.register_recipient(
                    session, registry.RecipientDraft(
                        name=recipient.name, website=recipient.website,
                        contact_email=recipient.contact_email, purposes=recipient.purposes,
                        legal_basis=recipient.legal_basis, data_role=recipient.data_role,
                        allowed_datasets=recipient.datasets,
                        redirect_uris=recipient.redirect_uris + (
                            (dataconnect_callback,)
                            if recipient.dataconnect and dataconnect_callback else ()),
                        is_supplier=recipient.is_supplier, client_id=recipient.client_id,
                        client_secret=plan.client_secret(recipient),
                        supplier_code=recipient.supplier_code,
                        party_id=organisation.id if organisation else None),
                    tenant_id=tenant, now=now)
            # --- market rules (issue 8): supply, consents, mandates, communities ----------
            operator = next(s for s in plan.staff if s.organisation_kind is PartyKind.OPERATOR)
            await seed_market(session, db, plan, clock, plan.id_for("party", operator.key))
    except IntegrityError:
        # Another process seeded the same plan at the same moment: its seed won, ours rolled
        # back entirely.
        return SeedReport(seeded=False)
    return SeedReport(seeded=True, households=len(plan.households), points=len(plan.points),
                      recipients=len(plan.recipients),
                      accounts=len(plan.households) + len(plan.staff))


_UPSTREAM_PREFIX = {
    UpstreamKind.ENEDIS_DATACONNECT: "DC",
    UpstreamKind.GRDF_DROIT_ACCES: "DA",
    UpstreamKind.BE_EAN_ACCESS: "BE",
    UpstreamKind.INHOUSE: "IH",
}


def _upstream_id(source: Source, identifier: str, n: int) -> str:
    """A stable id such as ``DC-22516914714270-1`` (the n-th authorisation of the point)."""
    return f"{_UPSTREAM_PREFIX[UpstreamKind.for_source(source)]}-{identifier}-{n}"


def describe(plan: DemoPlan) -> dict[str, Any]:
    """The demo's logins, points and client credentials, as printed by ``demo show --json``."""
    return {
        "tenant": plan.tenant_id,
        "households": [
            {"name": h.name, "username": h.username, "password": h.password, "email": h.email,
             "party_id": plan.id_for("party", h.key),
             "points": [str(p.ref) for p in plan.points
                        if any(o.household == h.key for o in p.occupancies)]}
            for h in plan.households],
        "staff": [
            {"name": s.name, "username": s.username, "password": s.password,
             "roles": [r.value for r in s.roles], "organisation": s.organisation,
             "party_id": plan.id_for("party", s.key)}
            for s in plan.staff],
        "points": [
            {"ref": str(p.ref), "source": p.source.value, "identifier": p.identifier,
             "energy": p.energy.value, "directions": [d.value for d in p.directions],
             "address": {"street": p.street, "postal_code": p.postal_code, "city": p.city,
                         "insee_code": p.insee_code, "country": p.country},
             "upstream": UpstreamKind.for_source(p.source).value,
             "point_id": plan.id_for("point", p.key),
             "occupancies": [
                 {"household": plan.household(o.household).name,
                  "username": plan.household(o.household).username,
                  "starts_at": o.starts_at.isoformat(),
                  "ends_at": o.ends_at.isoformat() if o.ends_at else None}
                 for o in p.occupancies]}
            for p in plan.points],
        "clients": [
            {"name": r.name, "client_id": r.client_id, "client_secret": plan.client_secret(r),
             "redirect_uris": list(r.redirect_uris), "purposes": [p.value for p in r.purposes],
             "legal_basis": r.legal_basis.value, "data_role": r.data_role.value,
             "is_supplier": r.is_supplier, "datasets": [d.value for d in r.datasets]}
            for r in plan.recipients],
        # Which consents the demo seeds, and whether each is individual or community (R4).
        "consents": [
            {"household": c.household, "recipient": c.recipient, "points": list(c.points),
             "datasets": [d.value for d in c.datasets], "purpose": c.purpose.value,
             "view": "individual" if c.community is None else "community",
             "community": None if c.community is None else plan.community(c.community).name}
            for c in plan.consents],
        "mandates": [
            {"household": m.household, "mandatary": m.mandatary, "scope": m.scope.value,
             "points": list(m.points), "standing": m.days is None} for m in plan.mandates],
        "communities": [
            {"name": c.name, "organiser": c.organiser, "min_members": c.min_members,
             "members": [h for h, _ in c.members]} for c in plan.communities],
        "supply_contracts": [
            {"point": s.point, "ref": str(plan.point(s.point).ref), "supplier": s.supplier,
             "supplier_name": plan.recipient(s.supplier).name, "since": s.since.isoformat()}
            for s in plan.supply],
    }
