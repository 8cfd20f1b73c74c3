"""The deterministic demo: the plan (pure data) and its seeding into an empty database."""

from consent.demo.plan import (
    DemoHousehold,
    DemoOccupancy,
    DemoPlan,
    DemoPoint,
    DemoRecipient,
    DemoStaff,
)
from consent.demo.seed import SeedReport, describe, seed_demo
from consent.demo.world import DEMO_PLAN

__all__ = [
    "DEMO_PLAN",
    "DemoHousehold",
    "DemoOccupancy",
    "DemoPlan",
    "DemoPoint",
    "DemoRecipient",
    "DemoStaff",
    "SeedReport",
    "describe",
    "seed_demo",
]
