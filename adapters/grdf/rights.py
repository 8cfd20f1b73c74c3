"""The droit d'accès part of :class:`~adapters.grdf.GrdfAdapter` and its NDJSON plumbing:
declare, send proofs, list, follow, revoke (see :mod:`adapters.grdf.access` for the values).

A mixin over the adapter's transport, kept apart so that the adapter module holds the data side.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from adapters.base import UpstreamAuthorisation
from adapters.decode import Doc, json_value
from adapters.errors import NoData, UnknownPoint, UpstreamError, UpstreamMalformed
from adapters.grdf import ndjson
from adapters.grdf.access import (
    AccessDeclaration,
    AccessRight,
    Proof,
    authorisation,
    check_proofs,
    current,
)
from adapters.grdf.errors import restitution
from adapters.transport import UpstreamTransport
from consent.errors import NotFound
from consent.identifiers import PointRef, Source


class AccessRights:
    """ADICT's droits d'accès, and the reading of its NDJSON answers."""

    transport: UpstreamTransport
    zone: str

    @staticmethod
    def _pce(point: PointRef) -> str:
        if point.source is not Source.GRDF:
            raise UnknownPoint(f"ADICT serves GRDF PCEs, not {point.source.value} points.",
                               point=str(point))
        return point.identifier

    async def _lines(self, path: str, *, api: str, method: str = "GET",
                     **kwargs: Any) -> list[Doc]:
        """The payload lines of an NDJSON read; refused lines raise, "no data" lines too
        unless other lines carry data."""
        reply = await self.transport.request(method, path, api=api, safe=True,
                                             accept="application/x-ndjson", **kwargs)
        answer = ndjson.parse(reply.body)
        kept, refusals = [], []
        for line in answer.lines:
            refusal = line.get("statut_restitution")
            if refusal.is_null:
                kept.append(line)
            else:
                refusals.append(restitution(refusal["message"].text()))
        if refusals and (not kept or not all(isinstance(r, NoData) for r in refusals)):
            raise next((r for r in refusals if not isinstance(r, NoData)), refusals[0])
        if answer.code != "0000000000" and not kept:
            raise restitution(answer.message)
        return kept

    async def declare(self, declaration: AccessDeclaration) -> AccessRight:
        """``PUT /pce/{id}/droit_acces``; the new right (``A valider`` until the holder
        confirms). Not retried: a second PUT could create a second right."""
        pce = self._pce(declaration.point)
        reply = await self.transport.request(
            "PUT", f"/pce/{pce}/droit_acces", api="droit_acces", expect=(200, 201),
            json=declaration.to_wire())
        try:
            created = Doc(json_value(reply.body), "body")
        except ValueError:
            raise UpstreamMalformed("ADICT's answer to the declaration is not JSON.",
                                    field="body") from None
        out = created.get("demander_acces_out")
        right_id = None if out.is_null else out["id_droit_acces"].text()
        rights = await self.access_rights(declaration.point)
        found = [r for r in rights if r.id == right_id] if right_id else \
            [r for r in rights if r.role is declaration.role]
        if not found:
            raise UpstreamMalformed("ADICT does not list the droit d'accès it just created.",
                                    field="demander_acces_out.id_droit_acces")
        return found[0] if right_id else max(found, key=lambda r: r.created)

    async def send_proofs(self, right_id: str, proofs: list[Proof]) -> None:
        """``PUT /droit_acces/{id}/preuves`` (multipart ``preuves``), after checking ADICT's
        limits locally: at most 3 files, 4 MB each, PDF/JPEG/PNG."""
        check_proofs(proofs)
        form = aiohttp.FormData()
        for proof in proofs:
            form.add_field("preuves", proof.content, filename=proof.filename,
                           content_type=proof.content_type)
        try:
            await self.transport.request("PUT", f"/droit_acces/{right_id}/preuves",
                                         api="preuves", data=form)
        except UpstreamError as error:
            raise _not_found(error, right_id) from error

    async def access_rights(self, point: PointRef) -> list[AccessRight]:
        """Every droit d'accès of the PCE (``POST /droits_acces`` filtered by ``id_pce``)."""
        pce = self._pce(point)
        lines = await self._lines("/droits_acces", api="droits_acces", method="POST",
                                  json={"id_pce": [pce]})
        rights = [AccessRight.parse(line) for line in lines]
        return [r for r in rights if r.point == point]

    async def revoke(self, right_id: str) -> None:
        """``PATCH /droit_acces/{id}`` when the household withdraws (AUTORISE roles)."""
        try:
            await self.transport.request("PATCH", f"/droit_acces/{right_id}",
                                         api="droit_acces")
        except UpstreamError as error:
            raise _not_found(error, right_id) from error

    async def follow(self, point: PointRef) -> AccessRight | None:
        """The right that speaks for the PCE now (state and proof check), for the schedule."""
        return current(await self.access_rights(point))

    async def authorisation(self, point: PointRef) -> UpstreamAuthorisation | None:
        return authorisation(point, await self.access_rights(point), self.zone)


def _not_found(error: UpstreamError, right_id: str) -> Exception:
    if error.extra.get("reason") == "not-found":
        return NotFound(f"ADICT knows no droit d'accès {right_id[:40]!r}.", field="right_id")
    return error
