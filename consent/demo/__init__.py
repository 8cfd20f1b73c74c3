"""The deterministic demo: the plan (pure data) and its seeding into an empty database."""

from consent.demo.plan import (
    DEMO_PLAN,
    DemoHousehold,
    DemoOccupancy,
    DemoPlan,
    DemoPoint,
    DemoRecipient,
    DemoStaff,
)
from consent.demo.seed import SeedReport, describe, seed_demo

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
