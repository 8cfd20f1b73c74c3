"""Simulator profiles that agree with the demo plan (:mod:`consent.demo`): the demo households'
points, with their energy, directions and occupants, so that the built-in simulator and
``passerelle simulator --demo`` serve exactly what the seeded consents allow (R8 occupancy);
and with the plan's addresses and suppliers, so that what they serve is what
``passerelle demo show`` prints (the plan is the one source of both)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from adapters.simulator.profiles import Address, Occupant, PointProfile, derive_profile
from consent.demo.plan import DemoPlan
from consent.models import DEFAULT_TIMEZONES
from consent.vocabulary import Direction

__all__ = ["demo_profiles"]


def demo_profiles(plan: DemoPlan) -> list[PointProfile]:
    """Simulator profiles agreeing with the demo plan: same energy, directions and occupants
    (each move-in on the local day the plan says), so the DSO serves what consents allow;
    same address, and a point the plan gives a supply contract names that supplier in its
    contract record (R13: the supplier sees itself there). What the plan does not say (tariff,
    power, another point's supplier) stays derived from the point."""
    suppliers = {s.point: plan.recipient(s.supplier).name for s in plan.supply}
    profiles = []
    for point in plan.points:
        zone = ZoneInfo(DEFAULT_TIMEZONES[point.source])
        occupants = tuple(
            Occupant(customer=f"C{n:010d}", move_in=o.starts_at.astimezone(zone).date(),
                     move_out=o.ends_at.astimezone(zone).date() if o.ends_at else None,
                     lastname=plan.household(o.household).name.split()[-1],
                     firstname=plan.household(o.household).name.split()[0],
                     email=plan.household(o.household).email)
            for n, o in enumerate(point.occupancies, start=1))
        profile = derive_profile(
            point.ref, energy=point.energy, occupants=occupants,
            commissioned=min(o.move_in for o in occupants) - timedelta(days=365),
            has_production=Direction.PRODUCTION in point.directions,
            timezone=DEFAULT_TIMEZONES[point.source],
            address=Address(point.street, point.postal_code, point.city, point.insee_code,
                            point.country))
        if point.key in suppliers:
            profile = replace(profile, contract=replace(profile.contract,
                                                        supplier=suppliers[point.key]))
        profiles.append(profile)
    return profiles
