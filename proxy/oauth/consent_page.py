"""The consent page: who asks, why, for which datasets of which points, how far back and for
how long, and what the household may narrow (RFC 6749 §4.1.1, R5, R12, R21).

:class:`Pending` is a validated authorization request and the signed-in account it is shown
to; :func:`consent_page` renders its form, whose ``POST`` :mod:`proxy.oauth.decision` handles.
A mandatary is offered the households it acts for and only the points their mandates cover
(R10, R11), each household's meters under its name; a consent is one household's, so a meter
ticked outside the household chosen on the form is refused, never silently dropped.

The page says in words what the app may do with the data (R4): read each meter on its own (an
individual consent), or use it only inside the aggregate of the community it names, summed
with at least k households, never on its own (a community consent).

The page first shows ticked, of the first household only, the meters the app already holds
and others while the app would hold at most :data:`~consent.scopes.MAX_POINTS` of that
household's meters in all (R14 counts what it holds: more goes through a written path), so the
form as shown can be approved as is; each household's group says how many the app holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant

from consent.identifiers import PointRef
from consent.models import Account, MeteringPoint, Party
from consent.scopes import MAX_POINTS, AccessRequest, InvalidDetails, resolution_choices
from consent.vocabulary import Dataset, Resolution
from proxy.keys import redirect_relays_key
from proxy.oauth.exchange import Exchange, OAuthClient
from proxy.oauth.glue import Snapshot
from proxy.oauth.server import PasserelleServer
from proxy.web.consent_text import consent_notice
from proxy.web.forms import every, first
from proxy.web.i18n import negotiate
from proxy.web.templates import render


@dataclass(frozen=True, slots=True)
class Pending:
    """A validated authorization request and the signed-in household it is shown to."""

    server: PasserelleServer
    snapshot: Snapshot
    grant: AuthorizationCodeGrant  # validated: its ``redirect_uri`` is the one to answer
    exchange: Exchange
    client: OAuthClient
    access: AccessRequest
    account: Account
    points: tuple[MeteringPoint, ...]
    #: For a mandatary: the households it acts for, each with the points it may share.
    households: tuple[tuple[Party, tuple[MeteringPoint, ...]], ...] = ()
    #: For a community consent (R4): the name and the k of the community whose aggregate it
    #: feeds.
    community: tuple[str, int] | None = None
    #: Per household (party id): the ids of its points the app already holds under live
    #: consents. R14 counts them with the points of this request.
    held: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def refs(self) -> list[PointRef]:
        return [p.ref for p in self.points]

    def grantor(self, pairs: list[tuple[str, str]],
                ticked: Sequence[PointRef] = ()) -> tuple[str, list[PointRef]]:
        """The household deciding and the points it may share: the account's own, or (for a
        mandatary) the household chosen on the form, among those it acts for. A ``ticked``
        point of another of those households raises :class:`InvalidDetails` (field
        ``other_household``): dropping it would share less than the page showed ticked."""
        if not self.households:
            return self.account.party_id, self.refs
        chosen = first(pairs, "household") or self.households[0][0].id
        for household, points in self.households:
            if household.id == chosen:
                mine = [p.ref for p in points]
                if any(ref in self.refs and ref not in mine for ref in ticked):
                    raise InvalidDetails("A ticked point belongs to another household than "
                                         "the one chosen.", field="other_household")
                return household.id, mine
        raise InvalidDetails("Choose one of the households you act for.", field="household")


def offered(pending: Pending) -> tuple[list[MeteringPoint], list[str], list[Dataset]]:
    """The household's points the request may cover, the requested points that are not its
    own, and the datasets those points have."""
    requested = pending.access.points
    points = [p for p in pending.points if not requested or p.ref in requested]
    foreign = [str(ref) for ref in requested if ref not in pending.refs]
    datasets = [d for d in sorted(pending.access.datasets)
                if any(p.can_have(d) for p in points)]
    return points, foreign, datasets


def groups(pending: Pending, points: Sequence[MeteringPoint]) -> list[dict[str, Any]]:
    """The offered points by household: one group without a name for a household's own page,
    one per household (named) for a mandatary; each says which of its points the app already
    holds, and how many in all (R14 counts them)."""
    households = pending.households or ((None, tuple(points)),)
    shown = []
    for household, mine in households:
        held = pending.held.get(household.id if household else pending.account.party_id,
                                frozenset())
        shown.append({"name": household.name if household else None,
                      "points": [str(p.ref) for p in points if p in mine],
                      "held": {str(p.ref) for p in points if p in mine and p.id in held},
                      "held_count": len(held)})
    return shown


def default_ticks(pending: Pending, points: Sequence[MeteringPoint]) -> list[str]:
    """The points ticked when the page is first shown: those of the household the form
    selects first, so that approving the form as shown works (R14): the points the app
    already holds (they add nothing to the count), then others while the app would hold at
    most :data:`MAX_POINTS` of the household's points in all."""
    household = pending.households[0][0].id if pending.households else pending.account.party_id
    first_group = pending.households[0][1] if pending.households else points
    held = pending.held.get(household, frozenset())
    offered_here = [p for p in points if p in first_group]
    again = [p for p in offered_here if p.id in held]
    room = max(0, MAX_POINTS - len(held))
    new = [p for p in offered_here if p.id not in held][:room]
    chosen = {p.id for p in again + new}
    return [str(p.ref) for p in offered_here if p.id in chosen]


async def consent_page(request: web.Request, pending: Pending, *, error: str | None = None,
                       status: int = 200,
                       answered: list[tuple[str, str]] | None = None) -> web.Response:
    """The consent form (see the module docstring); shown again after a refused answer, it
    keeps the meters and the household the form ``answered`` with."""
    points, foreign, datasets = offered(pending)
    ticked = every(answered, "point") if answered else default_ticks(pending, points)
    household = first(answered, "household") if answered else ""
    redirect_uri = final_destination(request, pending)
    curves = [d for d in datasets if d.spec.finest is not None
              and d.spec.finest.finer_than(Resolution.P1D)]
    access = pending.access
    return await render(request, "consent.html", {
        "recipient": pending.client.recipient,
        "purpose": access.purpose.value if access.purpose else "",
        "view": access.view.value,
        "community": pending.community or ("", 0),
        "points": [str(p.ref) for p in points],
        "groups": groups(pending, points),
        "ticked": set(ticked),
        "max_points": MAX_POINTS,
        "foreign_points": foreign,
        "datasets": datasets,
        "resolutions": resolution_choices(replace(access, datasets=frozenset(curves)))
        if curves else [],
        "history_days": access.history.days,
        "duration_days": access.duration.days,
        "redirect_host": urlsplit(redirect_uri).netloc,
        "action": request.path_qs,
        "error": error,
        "notice": consent_notice(negotiate(request)),
        "households": [{"id": h.id, "name": h.name} for h, _ in pending.households],
        "chosen_household": household or (pending.households[0][0].id
                                          if pending.households else ""),
    }, status=status, form_targets=(_origin(redirect_uri),))


def final_destination(request: web.Request, pending: Pending) -> str:
    """Where the browser ends once the household has answered: the request's redirect URI,
    or, when that is one of Passerelle's relays (the Data Connect callback), the app's
    address the relay sends it on to. The page names that host, and its form may lead there
    (CSP ``form-action`` applies to every redirect of the form's answer)."""
    redirect_uri: str = pending.snapshot.payload.redirect_uri
    relay = request.app.get(redirect_relays_key, {}).get(redirect_uri)
    target = relay(pending.client.recipient) if relay is not None else None
    return target or redirect_uri


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


