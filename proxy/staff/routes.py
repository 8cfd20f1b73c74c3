"""The staff API's URL map (``/staff/...``), registered by :func:`add_staff_routes`."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from proxy.middlewares import bearer_problems
from proxy.staff import erasure, mandates, operations, reviews


class _ProblemRouter:
    """``add_get``/``add_post`` of ``router``, each handler wrapped by ``bearer_problems``."""

    def __init__(self, router: web.UrlDispatcher) -> None:
        self.router = router

    def add_get(self, path: str, handler: Handler, **kwargs: Any) -> None:
        self.router.add_get(path, bearer_problems(handler), **kwargs)

    def add_post(self, path: str, handler: Handler, **kwargs: Any) -> None:
        self.router.add_post(path, bearer_problems(handler), **kwargs)


def add_staff_routes(app: web.Application) -> None:
    """Register every ``/staff`` route; a bearer-token error on any of them is problem+json
    with a ``WWW-Authenticate: Bearer`` challenge (:func:`proxy.middlewares.bearer_problems`),
    like its other errors."""
    r = _ProblemRouter(app.router)
    r.add_get("/staff/me", operations.me, name="staff_me")
    r.add_get("/staff/reviews", reviews.queue, name="staff_reviews")
    r.add_post("/staff/mandates", mandates.create, name="staff_mandates")
    r.add_get("/staff/mandates/{id}", reviews.mandate_file, name="staff_mandate")
    r.add_post("/staff/mandates/{id}/proofs", mandates.add_proof)
    r.add_post("/staff/mandates/{id}/approve", reviews.approve_mandate)
    r.add_post("/staff/mandates/{id}/refuse", reviews.refuse_mandate)
    for verb in ("submit", "suspend", "resume", "revoke", "withdraw"):
        r.add_post(f"/staff/mandates/{{id}}/{verb}", getattr(mandates, verb))
    r.add_post("/staff/consents/{id}/approve", reviews.approve_consent)
    r.add_post("/staff/consents/{id}/refuse", reviews.refuse_consent)
    r.add_get("/staff/proofs/{id}", reviews.proof_document, name="staff_proof")
    r.add_get("/staff/households/{id}", mandates.household, name="staff_household")
    r.add_post("/staff/households/{id}/erase", erasure.erase, name="staff_household_erase")
    r.add_post("/staff/points/{point}/move-out", operations.move_out)
    r.add_post("/staff/points/{point}/supply", operations.supply)
    r.add_post("/staff/communities", operations.create_community)
    r.add_get("/staff/communities/{id}", operations.community, name="staff_community")
    r.add_post("/staff/communities/{id}/members", operations.add_member)
    r.add_post("/staff/privileged", operations.ask_privileged)
    r.add_get("/staff/privileged", operations.list_privileged, name="staff_privileged")
    r.add_post("/staff/privileged/{id}/approve", operations.approve_privileged)
    r.add_post("/staff/privileged/{id}/reject", operations.reject_privileged)
    r.add_get("/staff/journal", operations.journal, name="staff_journal")
