"""What a household may read of its own points on its page (R8, R12, R20).

No consent is involved (it is the data subject), so the policy is the subset of
:mod:`consent.checks` that still applies: only the household's own occupancy of the point
(nothing before its move-in, R8), only while the operator holds an upstream authorisation,
at most three years back (R12). It is an :class:`~consent.checks.AllOf` with its own required
set, so a policy assembled without one of these rules still denies everything.
"""

from __future__ import annotations

from consent.checks import AllOf, HistoryDepth, OccupancyCovers, UpstreamAuthorised

#: The rules every household read must pass.
HOUSEHOLD_RULES: frozenset[str] = frozenset({
    OccupancyCovers.rule, UpstreamAuthorised.rule, HistoryDepth.rule,
})


def household_policy() -> AllOf:
    """The policy of the household's own reads."""
    return AllOf([OccupancyCovers(), UpstreamAuthorised(), HistoryDepth()],
                 required=HOUSEHOLD_RULES)
