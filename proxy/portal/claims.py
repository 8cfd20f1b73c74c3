"""Claiming a point (R15): ``GET/POST /account/claim``.

Where the operator is the DSO (its adapter answers :class:`~adapters.base.MeterNumberCheck`:
the in-house DSO API, the simulator), the household types the point's identifier and the number
printed on its meter; the DSO says yes or no. The DSO's customer register then says since when
the current customer holds the point and whether the operator's authorisation is active, and
:class:`~consent.claims.ClaimService` decides and records (see there: a claim never takes a
point away from the household already recorded for the same customer period).

Guessing is throttled: after :data:`MAX_REFUSALS` refused claims in :data:`REFUSAL_WINDOW`,
an account is told to wait (429); an unknown point and a wrong number get the same answer.
Each attempt is counted *before* the DSO checks it (:func:`claim_throttle`, an
:class:`~consent.shared_state.AttemptCounter` shared by replicas on PostgreSQL: counting and
comparing in one step), so concurrent guesses get no more checks than the limit; what was no
guess gives its place back: a malformed point (nothing asked), a DSO that did not answer, an
accepted claim. The refusals already recorded (:meth:`~consent.claims.ClaimService.recent_refusals`)
are asked first too: they outlive a restart of an SQLite instance, whose counter is in memory.
Each attempt is kept as a :class:`~consent.models.PointClaim` and logged as evidence; one the
DSO could not check (it did not answer: a 502 page) is kept too but is not a guess, so an outage
never locks a household out of claiming.

:func:`verify_meter_number` is shared with the first OpenID sign-in, which relies on the same
proof (and counts its guesses the same way: :attr:`ProofRefused.is_guess`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from adapters.base import MeterNumberCheck, UpstreamConsentFlow
from adapters.errors import UnknownPoint, UpstreamError
from consent.claims import DSO_UNAVAILABLE, Claimant, DsoFacts
from consent.clock import Clock
from consent.errors import DomainError
from consent.identifiers import PointRef, Source
from consent.models import ClaimMethod
from consent.shared_state import AttemptCounter, attempt_counter
from consent.storage import Database
from proxy.keys import adapters_key, claim_service_key, claim_throttle_key, clock_key
from proxy.portal.fields import FieldErrors
from proxy.portal.pages import Household, confirm, household_page, log_event, render_page
from proxy.web import csrf
from proxy.web.forms import first

MAX_REFUSALS = 5
REFUSAL_WINDOW = timedelta(hours=1)
#: Sources a household may type, in the order the form offers them.
SOURCES = (Source.ENEDIS, Source.GRDF, Source.BE_EAN, Source.INHOUSE)


def claim_throttle(db: Database, clock: Clock) -> AttemptCounter:
    """The claim form's guesses per account (module docstring)."""
    return attempt_counter(db, "claim-account", MAX_REFUSALS, REFUSAL_WINDOW, clock)


@dataclass(frozen=True, slots=True)
class Verified:
    """A point whose meter number the DSO confirmed, and what the DSO said about it."""

    ref: PointRef
    facts: DsoFacts


class ProofRefused(Exception):
    """The proof did not hold; ``field`` and ``message_key`` say what to show, ``reason`` what
    to record, ``status`` the page's: 400, or 502 when the DSO did not answer (not the
    person's mistake, as on the DSO consent page's return, proxy/portal/upstream_claim.py)."""

    def __init__(self, field: str, message_key: str, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.field, self.message_key, self.reason = field, message_key, reason
        self.status = status

    @property
    def is_guess(self) -> bool:
        """Whether the person's proof was checked and failed (what throttles count): not when
        the DSO did not answer."""
        return self.reason != DSO_UNAVAILABLE


def parse_point(source: str, identifier: str) -> PointRef:
    """The point typed in the form (spaces ignored); :class:`ProofRefused` if malformed."""
    try:
        return PointRef(Source.parse(source), "".join(identifier.split()).upper())
    except DomainError:
        raise ProofRefused("identifier", "portal.err.identifier", "malformed point") from None


async def verify_meter_number(app: web.Application, ref: PointRef, meter_number: str,
                              ) -> Verified:
    """Ask the DSO whether ``meter_number`` is ``ref``'s and gather its customer facts;
    :class:`ProofRefused` otherwise (an unknown point answers like a wrong number)."""
    adapter = app[adapters_key].get(ref.source)
    if not isinstance(adapter, MeterNumberCheck):
        raise ProofRefused("source", "portal.err.claim.no_meter_check", "no meter check")
    typed = "".join(meter_number.split())
    if not 4 <= len(typed) <= 32:
        raise ProofRefused("meter_number", "portal.err.meter_number", "meter number mismatch")
    try:
        if not await adapter.check_meter_number(ref, typed):
            raise ProofRefused("meter_number", "portal.err.meter_number",
                               "meter number mismatch")
        info = await adapter.describe(ref)
        occupants = await adapter.occupancy(ref)
        authorisation = await adapter.authorisation(ref)
    except UnknownPoint:
        raise ProofRefused("meter_number", "portal.err.meter_number",
                           "meter number mismatch") from None
    except UpstreamError:
        raise ProofRefused("form", "portal.err.claim.unavailable", DSO_UNAVAILABLE,
                           status=502) from None
    now = app[clock_key].now()
    current = [o for o in occupants if o.period.contains(now)]
    if not current or authorisation is None or not authorisation.state.usable:
        raise ProofRefused("form", "portal.err.claim.inactive", "no active customer period")
    validity = authorisation.validity
    return Verified(ref, DsoFacts(
        energy=info.energy, directions=tuple(sorted(info.directions)), timezone=info.timezone,
        customer_since=current[-1].period.start, customer=current[-1].customer,
        upstream_id=authorisation.upstream_id,
        upstream_valid_until=validity.end if validity is not None else None))


async def _page(request: web.Request, *, errors: FieldErrors | None = None,
                values: dict[str, str] | None = None, status: int = 200) -> web.Response:
    adapters = request.app[adapters_key]
    checkable = [s for s in SOURCES if isinstance(adapters.get(s), MeterNumberCheck)]
    return await render_page(request, "portal/claim.html", {
        "sources": SOURCES, "checkable": checkable, "errors": errors or FieldErrors(),
        "consent_pages": [s for s in SOURCES if isinstance(adapters.get(s),
                                                            UpstreamConsentFlow)],
        "values": values or {"source": SOURCES[0].value},
    }, section="overview", status=status, here="/account/claim")


@household_page
async def claim_form(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account/claim``."""
    return await _page(request)


@household_page
async def claim_submit(request: web.Request, household: Household) -> web.StreamResponse:
    """``POST /account/claim``: the point and its meter number."""
    pairs = await csrf.read_verified_form(request)
    values = {k: first(pairs, k) for k in ("source", "identifier")}
    errors = FieldErrors()
    service = request.app[claim_service_key]
    who = Claimant(household.party_id, household.account.id, household.tenant_id)
    typed = f"{values['source']}:{values['identifier']}"[:64]
    throttle = request.app[claim_throttle_key]
    held = None
    if await service.recent_refusals(household.account.id, REFUSAL_WINDOW) < MAX_REFUSALS:
        held = await throttle.reserve(household.account.id)
    if held is None or held.wait is not None:
        errors.add("form", "portal.err.claim.throttled")
        return await _page(request, errors=errors, values=values, status=429)
    try:
        verified = await verify_meter_number(request.app, parse_point(
            values["source"], values["identifier"]), first(pairs, "meter_number"))
    except ProofRefused as refused:
        malformed = refused.reason == "malformed point"
        if not malformed:
            await service.refuse(who, typed, ClaimMethod.METER_NUMBER, refused.reason)
        if malformed or not refused.is_guess:  # nothing was checked: no guess
            await throttle.release(held)
        errors.add(refused.field, refused.message_key)
        return await _page(request, errors=errors, values=values, status=refused.status)
    result = await service.accept(who, verified.ref, ClaimMethod.METER_NUMBER, verified.facts,
                                  {"meter_number": "confirmed by the DSO"})
    if result.accepted:
        await throttle.release(held)
    await log_event(request, household.account, f"point.claim.{result.claim.outcome}",
                    target=str(verified.ref), details={"method": ClaimMethod.METER_NUMBER.value,
                                                       "reason": result.claim.reason})
    if not result.accepted:
        errors.add("form", "portal.err.claim.taken")
        return await _page(request, errors=errors, values=values, status=409)
    return await confirm(request, "/account", "portal.done.claimed", point=str(verified.ref))
