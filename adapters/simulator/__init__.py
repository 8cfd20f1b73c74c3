"""The built-in simulated DSO: :class:`Simulator`, its profiles, faults and in-process adapter."""

from adapters.simulator.adapter import SimulatorAdapter
from adapters.simulator.faults import Fault, FaultKind, FaultPlan
from adapters.simulator.profiles import (
    Address,
    ContractTerms,
    Occupant,
    PointProfile,
    derive_profile,
)
from adapters.simulator.simulator import Simulator

__all__ = [
    "Address",
    "ContractTerms",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "Occupant",
    "PointProfile",
    "Simulator",
    "SimulatorAdapter",
    "derive_profile",
]
