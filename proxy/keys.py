"""Every typed aiohttp application and request key, in one place."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from adapters.base import MeterDataAdapter
from adapters.limiter import FairLimiter
from consent.access_events import AccessEventSink, BatchWriter
from consent.auditors import Auditor
from consent.claims import ClaimService
from consent.clock import Clock
from consent.evidence.service import Evidence
from consent.identifiers import Source
from consent.invalidation import InvalidationBus
from consent.models import Recipient
from consent.services import ConsentService, MandateService
from consent.shared_state import AttemptCounter
from consent.storage import Database
from proxy.bearer_tokens import BearerTokens
from proxy.data.address_limit import AddressLimit
from proxy.data.household import HouseholdReader
from proxy.data.service import DataService
from proxy.metrics import Metrics
from proxy.oauth.server import PasserelleServer
from proxy.oauth.store import TokenEndpointStore
from proxy.portal.oidc_client import OidcClient
from proxy.portal.recording import DecisionRecorder
from proxy.settings import Settings
from proxy.staff.services import RuleServices
from proxy.verified_token import VerifiedToken
from proxy.web.ratelimit import LoginThrottle

settings_key = web.AppKey("settings", Settings)
database_key = web.AppKey("database", Database)
clock_key = web.AppKey("clock", Clock)
invalidation_bus_key = web.AppKey("invalidation_bus", InvalidationBus)
metrics_key = web.AppKey("metrics", Metrics)
web_secret_key = web.AppKey("web_secret", bytes)
login_throttle_key = web.AppKey("login_throttle", LoginThrottle)
oauth_server_key = web.AppKey("oauth_server", PasserelleServer)
token_store_key = web.AppKey("token_store", TokenEndpointStore)
consent_service_key = web.AppKey("consent_service", ConsentService)

# --- data proxy (issue 4): native API, Data Connect-compatible API, upstream economy ---------
adapters_key = web.AppKey("adapters", dict[Source, MeterDataAdapter])
access_sink_key = web.AppKey("access_sink", AccessEventSink)
data_service_key = web.AppKey("data_service", DataService)
bearer_tokens_key = web.AppKey("bearer_tokens", BearerTokens)
upstream_limiter_key = web.AppKey("upstream_limiter", FairLimiter)  # every adapter's one limiter
#: Data-path requests naming nobody, limited per client address (R16's flood defence).
address_limit_key = web.AppKey("address_limit", AddressLimit)

# --- evidence (issue 6): signed records, the log, checkpoints, the audit API ---------------
evidence_key = web.AppKey("evidence", Evidence)
mandate_service_key = web.AppKey("mandate_service", MandateService)
access_trail_key = web.AppKey("access_trail", BatchWriter)

# --- market rules and the staff API (issue 8) ------------------------------------------------
rules_key = web.AppKey("rules", RuleServices)

# --- household portal (issue 7) ---------------------------------------------------------------
household_reader_key = web.AppKey("household_reader", HouseholdReader)
claim_service_key = web.AppKey("claim_service", ClaimService)
#: The claim form's guesses per account (proxy/portal/claims.py).
claim_throttle_key = web.AppKey("claim_throttle", AttemptCounter)
#: The mandate form's person lookups per account (proxy/portal/mandataries.py).
mandate_person_throttle_key = web.AppKey("mandate_person_throttle", AttemptCounter)
decision_recorder_key = web.AppKey("decision_recorder", DecisionRecorder)
oidc_client_key = web.AppKey("oidc_client", OidcClient)  # absent unless a provider is set
#: Redirect URIs of Passerelle's own that pass the answer on (the Data Connect consent page's
#: callback): each maps a recipient to the address the browser ends at, ``None`` for none.
redirect_relays_key = web.AppKey("redirect_relays",
                                 dict[str, Callable[[Recipient], str | None]])

request_id_key = web.RequestKey("request_id", str)
verified_token_key = web.RequestKey("verified_token", VerifiedToken)
#: The token cache's generation taken before the request's token was read (``None``: nothing
#: to be known that way, the bus unhealthy or the cache off), for
#: :class:`proxy.auth.BearerRecheck`.
bearer_generation_key = web.RequestKey("bearer_generation", object)
auditor_key = web.RequestKey("auditor", Auditor)
