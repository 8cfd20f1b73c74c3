"""Consent checks: may this access be served, and if not, which rule says no (R4, R6, R8, R12,
R13).

A policy is an :class:`AllOf` of small :class:`ConsentCheck` objects over an
:class:`~consent.access.AccessContext`. Each check looks at one rule and passes (``None``) or
returns a :class:`~consent.access.Denial` naming the rule and what would have been allowed.

Secure by default:

* a check whose input is missing (no token, no consent, no known occupancy, no upstream
  authorisation) denies;
* :class:`AllOf` denies every request while one of :data:`REQUIRED_RULES` has no check in it,
  so a policy assembled with a rule forgotten serves nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from consent.access import AccessContext, Denial, allowed_window, window_json
from consent.community_consent import CommunityView
from consent.vocabulary import history_floor


class ConsentCheck(Protocol):
    """One rule. ``rule`` is its stable name (``"R8 occupancy"``) as reported in denials."""

    rule: str

    def check(self, ctx: AccessContext) -> Denial | None:
        """``None`` if the rule allows the request, else the :class:`Denial`."""
        ...


def _window_denial(rule: str, detail: str, ctx: AccessContext,
                   reason: str | None = None) -> Denial:
    window = allowed_window(ctx)
    if window is None:
        return Denial(rule, detail, reason=reason)
    return Denial(rule, detail, {"window": window_json(window, ctx.request.timezone)}, reason)


class TokenValid:
    """R6: the bearer token is unexpired, unrevoked, and belongs to the consent's recipient."""

    rule = "R6 token"

    def check(self, ctx: AccessContext) -> Denial | None:
        token, at = ctx.token, ctx.request.at
        if token is None:
            return Denial(self.rule, "No verified access token accompanies the request.")
        if token.revoked:
            return Denial(self.rule, "The access token has been revoked.")
        if at >= token.expires_at:
            return Denial(self.rule, f"The access token expired at {token.expires_at.isoformat()}.")
        consent = ctx.consent
        if consent is not None and (
            consent.recipient_id != token.recipient_id
            or (token.consent_id is not None and token.consent_id != consent.consent_id)
        ):
            return Denial(self.rule, "The access token was not issued under this consent.")
        return None


class ConsentActive:
    """R6: a consent exists, is in force (not revoked, not suspended) and covers this instant."""

    rule = "R6 consent active"

    def check(self, ctx: AccessContext) -> Denial | None:
        consent, at = ctx.consent, ctx.request.at
        if consent is None:
            token, point = ctx.token, ctx.request.point
            if token is not None and token.points is not None and point not in token.points:
                # A consent-bound token on a point its consent does not name: the point is
                # what is wrong, and the token's points are what would be allowed (R6).
                return Denial("R6 point", f"This token's consent does not cover the point "
                                          f"{point}.",
                              {"points": sorted(str(p) for p in token.points)})
            return Denial(self.rule, "No consent of the household covers this recipient and point.")
        basis = consent.basis
        if consent.revoked_at is not None and consent.revoked_at <= at:
            return Denial(self.rule,
                          f"The {basis} was revoked at {consent.revoked_at.isoformat()}.")
        if not consent.active:
            return Denial(self.rule, f"The {basis} is not in force.")
        if not consent.access.contains(at):
            return Denial(self.rule, f"The {basis} does not cover the present instant.",
                          {"access": window_json(consent.access, ctx.request.timezone)})
        return None


class PointCovered:
    """R6: the point is one of the consent's points, and of the token's when it names some."""

    rule = "R6 point"

    def check(self, ctx: AccessContext) -> Denial | None:
        consent, point = ctx.consent, ctx.request.point
        if consent is None:
            return Denial(self.rule, "No consent names this point.")
        allowed = consent.points
        if ctx.token is not None and ctx.token.points is not None:
            allowed = allowed & ctx.token.points
        if point not in allowed:
            return Denial(self.rule, f"The consent does not cover the point {point}.",
                          {"points": sorted(str(p) for p in allowed)})
        return None


class DatasetCovered:
    """R6: the dataset is one of the consent's datasets, and of the token's scopes."""

    rule = "R6 dataset"

    def check(self, ctx: AccessContext) -> Denial | None:
        consent, dataset = ctx.consent, ctx.request.dataset
        if consent is None:
            return Denial(self.rule, "No consent names this dataset.")
        allowed = consent.datasets
        if ctx.token is not None and ctx.token.datasets is not None:
            allowed = allowed & ctx.token.datasets
        if dataset not in allowed:
            return Denial(self.rule, f"The consent does not cover the dataset {dataset.value}.",
                          {"datasets": sorted(d.value for d in allowed)})
        return None


class ResolutionAllowed:
    """R6, R12: no finer than the consent allows; coarser only where it can be aggregated.

    A consent capped at ``P1D`` for a load curve is served daily values computed from the
    curve, never the curve itself.
    """

    rule = "R6 resolution"

    def check(self, ctx: AccessContext) -> Denial | None:
        consent, request = ctx.consent, ctx.request
        spec = request.dataset.spec
        if not spec.is_series:
            if request.resolution is not None:
                return Denial(self.rule, f"{request.dataset.value} is a record: it has no "
                                         "resolution.")
            return None
        if consent is None or request.resolution is None:
            return Denial(self.rule, "The resolution of the request is unknown.")
        finest = consent.finest_for(request.dataset)
        assert finest is not None  # a series always has a native resolution
        if request.resolution.finer_than(finest):
            return Denial(self.rule, f"The consent allows {request.dataset.value} at "
                                     f"{finest.value} or coarser, not {request.resolution.value}.",
                          {"finest_resolution": finest.value})
        if not spec.can_aggregate_to(request.resolution):
            return Denial(self.rule, f"{request.dataset.value} cannot be given at "
                                     f"{request.resolution.value}.",
                          {"finest_resolution": finest.value})
        return None


class DataWindowCovered:
    """R6: the requested window lies inside the consent's data window."""

    rule = "R6 data window"

    def check(self, ctx: AccessContext) -> Denial | None:
        if not ctx.request.dataset.spec.is_series:
            return None
        window = ctx.request.window
        if ctx.consent is None or window is None:
            return Denial(self.rule, "The data window of the request or the consent is unknown.")
        if not ctx.consent.data_window_at(ctx.request.at).covers(window):
            return _window_denial(self.rule, "The requested window reaches outside the data the "
                                             "consent releases.", ctx)
        return None


class OccupancyCovers:
    """R8: only the household's own occupancy of the point: nothing before move-in or after
    move-out. Records (identity, contract...) only while the household occupies the point."""

    rule = "R8 occupancy"

    def check(self, ctx: AccessContext) -> Denial | None:
        if ctx.point is None or not ctx.point.occupancy:
            return Denial(self.rule, "The household's occupancy of the point is unknown.")
        window = ctx.request.window
        if ctx.request.dataset.spec.is_series:
            if window is None or not any(p.covers(window) for p in ctx.point.occupancy):
                # Which side: a window reaching back before a move-in is a request to correct
                # (its start), not a household that has left (Data Connect tells them apart).
                starts = [p.start for p in ctx.point.occupancy
                          if window is not None and (p.end is None or p.end > window.start)]
                before = window is not None and bool(starts) and window.start < min(starts)
                return _window_denial(
                    self.rule, "The requested window starts before the household moved in."
                    if before else "The requested window reaches outside the household's "
                                   "occupancy of the point.", ctx,
                    "before-move-in" if before else None)
        elif not any(p.contains(ctx.request.at) for p in ctx.point.occupancy):
            return Denial(self.rule, "The household no longer occupies the point.")
        return None


class UpstreamAuthorised:
    """The upstream authorisation (for example the household's Data Connect consent to the
    operator) is in force now and covers the window: when it ends every consent on the point
    stops with it (domain.md, "How the pieces fit")."""

    rule = "upstream authorisation"

    def check(self, ctx: AccessContext) -> Denial | None:
        upstream = ctx.point.upstream if ctx.point is not None else None
        if upstream is None:
            return Denial(self.rule, "No upstream authorisation lets the operator read this "
                                     "point.")
        if not upstream.contains(ctx.request.at):
            return Denial(self.rule, "The upstream authorisation for this point is not in force.",
                          {"upstream": window_json(upstream, ctx.request.timezone)})
        window = ctx.request.window
        if ctx.request.dataset.spec.is_series and (window is None or not upstream.covers(window)):
            # ``window``: it reaches back before the authorisation began (Data Connect's
            # "before the consent's start"); past its end there is no such answer.
            starts_before = window is not None and window.start < upstream.start
            return _window_denial(self.rule, "The requested window reaches outside the upstream "
                                             "authorisation.", ctx,
                                  "window" if starts_before else None)
        return None


class HistoryDepth:
    """R12: at most three years of history on request."""

    rule = "R12 history"

    def check(self, ctx: AccessContext) -> Denial | None:
        window = ctx.request.window
        if not ctx.request.dataset.spec.is_series:
            return None
        if window is None or window.start < history_floor(ctx.request.at):
            return _window_denial(self.rule, "The requested window starts more than three years "
                                             "ago.", ctx)
        return None


class SupplierContract:
    """R13: a supplier sees a point only while it holds a registered contract on it."""

    rule = "R13 supplier contract"

    def check(self, ctx: AccessContext) -> Denial | None:
        if ctx.consent is None:
            return Denial(self.rule, "The recipient's role is unknown.")
        if not ctx.consent.recipient_is_supplier:
            return None
        contract = ctx.point.supplier_contract if ctx.point is not None else None
        if contract is None or not contract.contains(ctx.request.at):
            return Denial(self.rule, "The supplier holds no registered contract on this point "
                                     "now.")
        window = ctx.request.window
        if ctx.request.dataset.spec.is_series and (window is None or not contract.covers(window)):
            return _window_denial(self.rule, "The requested window reaches outside the "
                                             "supplier's contract.", ctx)
        return None


#: The rules every policy must contain; :class:`AllOf` denies everything if one is missing.
REQUIRED_RULES: frozenset[str] = frozenset({
    TokenValid.rule, ConsentActive.rule, PointCovered.rule, DatasetCovered.rule,
    ResolutionAllowed.rule, DataWindowCovered.rule, OccupancyCovers.rule, UpstreamAuthorised.rule,
    HistoryDepth.rule, SupplierContract.rule, CommunityView.rule,
})


class AllOf:
    """Every check must pass; the first denial (in the given order) is the answer."""

    rule = "policy"

    def __init__(self, checks: Iterable[ConsentCheck],
                 required: frozenset[str] = REQUIRED_RULES) -> None:
        self.checks = tuple(checks)
        self.missing = required - {c.rule for c in self.checks}

    def check(self, ctx: AccessContext) -> Denial | None:
        """The first denial, or ``None`` when every required rule is present and passes."""
        if self.missing:
            return Denial(self.rule, "The access policy is incomplete (missing: "
                                     f"{', '.join(sorted(self.missing))}); nothing is served.")
        for check in self.checks:
            denial = check.check(ctx)
            if denial is not None:
                return denial
        return None

    def enforce(self, ctx: AccessContext) -> None:
        """Raise :class:`~consent.errors.AccessDenied` unless the request is allowed."""
        denial = self.check(ctx)
        if denial is not None:
            raise denial.to_error()


def default_policy() -> AllOf:
    """The policy of every data request, native or compatible: all rules, cheapest first."""
    return AllOf([TokenValid(), ConsentActive(), PointCovered(), DatasetCovered(),
                  ResolutionAllowed(), DataWindowCovered(), OccupancyCovers(),
                  UpstreamAuthorised(), HistoryDepth(), SupplierContract(), CommunityView()])
