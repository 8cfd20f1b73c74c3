"""Fault injection: make the simulated DSO slow, busy, broken or sloppy, on demand.

Two ways to ask, combinable: :meth:`FaultPlan.next` queues a fault for the next *N* requests
(exact, for tests), :meth:`FaultPlan.sometimes` fires a fault with a probability drawn from the
plan's own seeded generator (reproducible chaos, for demos and soak runs). The in-process adapter
and the in-house HTTP server both draw from the same plan, once per data request.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from consent.errors import DomainError


class FaultKind(StrEnum):
    """What goes wrong."""

    LATENCY = "latency"  # the right answer, ``delay`` seconds late
    RATE_LIMITED = "rate_limited"  # HTTP 429 with Retry-After
    UNAVAILABLE = "unavailable"  # HTTP 5xx (``status``)
    TIMEOUT = "timeout"  # no answer for ``delay`` seconds, longer than any client waits
    TRUNCATED = "truncated"  # the body stops half-way (HTTP only)
    MALFORMED = "malformed"  # valid JSON with a wrong field (HTTP only)


_DEFAULT_DELAY = {FaultKind.LATENCY: 0.5, FaultKind.TIMEOUT: 30.0}


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault and its parameters."""

    kind: FaultKind
    delay: float = 0.0
    status: int = 503
    retry_after: int = 1

    @classmethod
    def of(cls, kind: FaultKind | str, **params: Any) -> Fault:
        """A fault of ``kind`` with sensible defaults (0.5 s latency, 30 s hang, 503)."""
        kind = FaultKind(kind)
        params.setdefault("delay", _DEFAULT_DELAY.get(kind, 0.0))
        fault = cls(kind, **params)
        if fault.delay < 0 or fault.retry_after < 0 or not 500 <= fault.status <= 599:
            raise DomainError("A fault needs a non-negative delay and retry_after and a 5xx "
                              "status.", field="fault")
        return fault

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}


class FaultPlan:
    """Which faults the next requests meet. Queued faults come first, then probabilities."""

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        self._queue: deque[Fault] = deque()
        self._chances: list[tuple[Fault, float]] = []

    def next(self, fault: Fault | FaultKind | str, count: int = 1) -> None:
        """The next ``count`` requests meet ``fault``."""
        fault = fault if isinstance(fault, Fault) else Fault.of(fault)
        if count < 1:
            raise DomainError("count must be at least 1.", field="count")
        self._queue.extend([fault] * count)

    def sometimes(self, fault: Fault | FaultKind | str, probability: float) -> None:
        """Each request meets ``fault`` with ``probability`` (seeded, reproducible)."""
        fault = fault if isinstance(fault, Fault) else Fault.of(fault)
        if not 0.0 <= probability <= 1.0:
            raise DomainError("probability must lie between 0 and 1.", field="probability")
        self._chances.append((fault, probability))

    def clear(self) -> None:
        """No more faults; the generator restarts from the seed."""
        self._queue.clear()
        self._chances.clear()
        self._rng = random.Random(self._seed)

    def draw(self) -> Fault | None:
        """The fault the current request meets, if any (consumes a queued one)."""
        if self._queue:
            return self._queue.popleft()
        for fault, probability in self._chances:
            if self._rng.random() < probability:
                return fault
        return None

    def to_json(self) -> dict[str, Any]:
        """The plan as the admin endpoint shows it."""
        return {
            "seed": self._seed,
            "queued": [f.to_json() for f in self._queue],
            "sometimes": [{**f.to_json(), "probability": p} for f, p in self._chances],
        }
