"""The upstream-consent part of :class:`~adapters.enedis.EnedisAdapter`: the consent page, the
callback, the subscribed services and their re-check (see :mod:`adapters.enedis.consent`).

A mixin over the adapter's transport, directory and clock, kept apart so that the adapter module
holds the data side only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from adapters.base import UpstreamAuthorisation
from adapters.enedis import consent, v5
from adapters.enedis.config import MAX_CONSENT, EnedisConfig
from adapters.enedis.errors import NO_CONSENT
from adapters.errors import UpstreamDenied
from adapters.transport import UpstreamTransport
from consent.clock import Clock
from consent.identifiers import PointRef
from consent.periods import Period
from consent.upstream import UpstreamState


class UpstreamConsent:
    """Consent page, callback, services, re-check and the authorisation of a point."""

    config: EnedisConfig
    transport: UpstreamTransport
    directory: consent.AuthorisationDirectory
    clock: Clock
    zone: str
    _v5: bool

    def _today(self) -> date:
        raise NotImplementedError

    def _prm(self, point: PointRef) -> str:
        raise NotImplementedError

    async def _services(self, point: PointRef) -> list[consent.Service] | None:
        if self._v5:
            return None
        known = await self.directory.lookup(point)
        if known is None:
            return None
        found = consent.by_point(await consent.services(self.transport, known.upstream_id,
                                                        self.zone))
        return found.get(point, [])

    def consent_url(self, state: str | None = None,
                    duration: timedelta = MAX_CONSENT) -> tuple[str, str]:
        """The consent page to send the household to, and the ``state`` to check on return."""
        state = state or consent.new_state()
        version = "v1" if self._v5 else "v2"
        return consent.authorize_url(self.config.consent_host, self.config.client_id, state,
                                     duration, version=version), state

    async def complete_consent(self, query: Mapping[str, str], expected_state: str, *,
                               duration: timedelta = MAX_CONSENT,
                               ) -> tuple[UpstreamAuthorisation, ...]:
        """The callback's authorisations, one per point (both callback forms are accepted)."""
        callback = consent.parse_callback(query, expected_state)
        if callback.autorisation_id is not None:
            return await self.recheck(callback.autorisation_id)
        today = self._today()
        validity = consent.today_validity(today, duration.days, self.zone)
        out = []
        for point in callback.points:
            upstream_id = f"v1:{point.identifier}:{today.isoformat()}"  # v1 consents have no id
            await self.directory.remember(point, upstream_id, validity)
            out.append(UpstreamAuthorisation(point, UpstreamState.ACTIVE, upstream_id,
                                             validity, None))
        return tuple(out)

    async def recheck(self, autorisation_id: str) -> tuple[UpstreamAuthorisation, ...]:
        """The current state of every point of an autorisation (the proxy's scheduled job)."""
        grouped = consent.by_point(await consent.services(self.transport, autorisation_id,
                                                          self.zone))
        out = []
        for point, found in grouped.items():
            await self.directory.remember(point, autorisation_id)
            out.append(consent.summarise(point, autorisation_id, found))
        return tuple(out)

    async def authorisation(self, point: PointRef) -> UpstreamAuthorisation | None:
        self._prm(point)
        if self._v5:
            return await self._v5_authorisation(point)
        known = await self.directory.lookup(point)
        if known is None:
            return None
        services = await self._services(point)
        if not services:  # the autorisation does not (or no longer) cover the point
            return None
        return consent.summarise(point, known.upstream_id, services)

    async def _v5_authorisation(self, point: PointRef) -> UpstreamAuthorisation:
        """v5 has no state API: a cheap contract call tells whether access still works; the
        validity is what the proxy recorded at the callback (ended by now, if it ended)."""
        known = await self.directory.lookup(point)
        upstream_id = known.upstream_id if known else f"v1:{point.identifier}"
        validity = known.validity if known else None
        try:
            await v5.activation(self.transport, point.identifier)
        except UpstreamDenied as denied:
            state = UpstreamState.REVOKED if denied.extra.get("reason") == NO_CONSENT \
                else UpstreamState.ENDED
            now = self.clock.now()
            if validity is not None and (validity.end is None or validity.end > now) and \
                    validity.start < now:
                validity = Period(validity.start, now)
            return UpstreamAuthorisation(point, state, upstream_id, validity,
                                         denied.extra.get("upstream_code"))
        return UpstreamAuthorisation(point, UpstreamState.ACTIVE, upstream_id, validity,
                                     None)
