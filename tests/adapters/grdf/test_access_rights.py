"""The droit d'accès lifecycle at ADICT: declare, validate, send proofs, follow, revoke."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from adapters.errors import UnknownPoint, UpstreamCredentialsRejected, UpstreamRejected
from adapters.grdf.access import AccessDeclaration, Proof
from adapters.grdf.vocabulary import ProofStatus, Role
from adapters.simulator import Simulator
from consent.errors import DomainError, InvalidPeriod, NotFound
from consent.identifiers import PointRef, Source
from consent.upstream import UpstreamState
from tests.adapters.support import grdf_world
from tests.contract.harnesses import GAS, GAS_MOVED, GAS_UNKNOWN

TODAY = date(2026, 10, 15)
PDF = Proof("mandat.pdf", "application/pdf", b"%PDF-1.7\n" + b"x" * 2000)


def declaration(simulator: Simulator, point: PointRef = GAS,
                role: Role = Role.AUTORISE_CONTRAT_FOURNITURE,
                **changes: object) -> AccessDeclaration:
    values: dict[str, object] = {
        "point": point, "role": role,
        "postal_code": simulator.profile(point).address.postal_code,
        "email": "alice@example.org", "access_from": TODAY,
        "access_until": TODAY + timedelta(days=365), "data_from": TODAY - timedelta(days=700),
        "data_until": TODAY + timedelta(days=365), "holder_name": "Martin",
        "mobile": "0612345678", "contractual": True}
    values.update(changes)
    return AccessDeclaration(**values)  # type: ignore[arg-type]


def test_the_declaration_body_speaks_adict() -> None:
    body = AccessDeclaration(GAS, Role.AUTORISE_CONTRAT_FOURNITURE, "69003", "a@b.fr", TODAY,
                             TODAY + timedelta(days=30), TODAY - timedelta(days=10),
                             TODAY + timedelta(days=30), holder_company="ACME").to_wire()
    assert body["perim_donnees_contractuelles"] == "Faux"
    assert body["perim_donnees_informatives"] == "Vrai"
    assert body["perim_donnees_conso_debut"] == "2026-10-05"
    assert body["raison_sociale"] == "ACME"
    assert body["nom_titulaire"] is None


@pytest.mark.parametrize(("changes", "error"), [
    ({"holder_company": "ACME"}, DomainError),  # both a name and a company
    ({"postal_code": "6900"}, DomainError),
    ({"email": "alice"}, DomainError),
    ({"mobile": "0112345678"}, DomainError),
    ({"data_until": TODAY + timedelta(days=400)}, InvalidPeriod),
    ({"point": PointRef(Source.ENEDIS, "22516914714270")}, DomainError),
])
def test_declarations_adict_would_refuse_are_refused_here(changes: dict[str, object],
                                                          error: type[Exception]) -> None:
    with pytest.raises(error):
        declaration(Simulator(), **changes)


async def test_declare_validate_prove_follow_and_revoke() -> None:
    async with grdf_world() as world:
        right = await world.adapter.declare(declaration(world.simulator))
        assert right.state is UpstreamState.REQUESTED
        assert right.proof_status is ProofStatus.WAITING
        assert right.proof_deadline == TODAY + timedelta(days=30)
        world.clock.advance(timedelta(minutes=16))  # the holder confirmed by e-mail
        assert (await world.adapter.authorisation(GAS)).state is UpstreamState.ACTIVE
        await world.adapter.send_proofs(right.id, [PDF])
        followed = await world.adapter.follow(GAS)
        assert followed is not None
        assert followed.proof_status is ProofStatus.CHECKING
        world.clock.advance(timedelta(days=1))
        followed = await world.adapter.follow(GAS)
        assert followed is not None
        assert followed.proof_status is ProofStatus.OK
        await world.adapter.revoke(right.id)  # the household withdrew its consent
        revoked = await world.adapter.authorisation(GAS)
        assert revoked.state is UpstreamState.REVOKED
        assert revoked.upstream_state == "Révoquée"
        with pytest.raises(UpstreamRejected):
            await world.adapter.revoke(right.id)


async def test_a_failed_proof_check_suspends_the_right() -> None:
    async with grdf_world() as world:
        right = await world.adapter.declare(declaration(world.simulator))
        await world.adapter.send_proofs(right.id, [Proof("invalid-scan.pdf", "application/pdf",
                                                         b"%PDF-1.4 ...")])
        world.clock.advance(timedelta(days=2))
        auth = await world.adapter.authorisation(GAS)
        assert auth.state is UpstreamState.SUSPENDED
        assert auth.upstream_state == "A revérifier"


@pytest.mark.parametrize(("changes", "reason"), [
    ({"postal_code": "99099"}, "postal-code-mismatch"),
    ({"access_from": TODAY + timedelta(days=1)}, "dates"),
])
async def test_adict_conflicts_become_rejections_with_a_reason(changes: dict[str, object],
                                                               reason: str) -> None:
    async with grdf_world() as world:
        with pytest.raises(UpstreamRejected) as caught:
            await world.adapter.declare(declaration(world.simulator, **changes))
        assert caught.value.reason == reason
        assert caught.value.status == 409


async def test_a_second_right_for_the_same_role_already_exists() -> None:
    async with grdf_world() as world:
        await world.adapter.declare(declaration(world.simulator))
        with pytest.raises(UpstreamRejected) as caught:
            await world.adapter.declare(declaration(world.simulator))
        assert caught.value.reason == "already-exists"
        assert world.adapter.transport.exchanges == 3  # PUT, listing, PUT: never retried


async def test_an_unknown_pce_is_unknown() -> None:
    async with grdf_world() as world:
        with pytest.raises(UnknownPoint):
            await world.adapter.declare(declaration(world.simulator, point=GAS_UNKNOWN,
                                                    postal_code="69003"))


@pytest.mark.parametrize(("proofs", "message"), [
    ([PDF] * 4, "1 to 3"),
    ([Proof("big.pdf", "application/pdf", b"%PDF" + b"0" * (4 * 1024 * 1024))], "4 MB"),
    ([Proof("scan.gif", "image/gif", b"GIF89a")], "PDF, JPEG or PNG"),
    ([Proof("fake.png", "image/png", b"%PDF-1.7")], "claims"),
])
async def test_proofs_adict_would_refuse_never_leave(proofs: list[Proof], message: str) -> None:
    async with grdf_world() as world:
        right = await world.adapter.declare(declaration(world.simulator))
        sent = world.adapter.transport.exchanges
        with pytest.raises(DomainError, match=message):
            await world.adapter.send_proofs(right.id, proofs)
        assert world.adapter.transport.exchanges == sent


async def test_adict_refuses_a_fourth_proof_and_unasked_proofs() -> None:
    async with grdf_world() as world:
        right = await world.adapter.declare(declaration(world.simulator))
        await world.adapter.send_proofs(right.id, [PDF, PDF])
        with pytest.raises(UpstreamRejected) as caught:
            await world.adapter.send_proofs(right.id, [PDF, PDF])
        assert caught.value.reason == "too-many-proofs"
        holder = await world.adapter.declare(declaration(
            world.simulator, point=GAS_MOVED, role=Role.DETENTEUR_CONTRAT_FOURNITURE,
            data_from=date(2026, 9, 10)))
        assert holder.proof_status is None
        with pytest.raises(UpstreamRejected) as caught:
            await world.adapter.send_proofs(holder.id, [PDF])
        assert caught.value.reason == "proof-not-required"


async def test_unknown_rights_are_not_found() -> None:
    async with grdf_world() as world:
        with pytest.raises(NotFound):
            await world.adapter.revoke("00000000-0000-0000-0000-000000000000")


@pytest.mark.parametrize("knob", [{"accented_states": True}, {"wrap_access_list": True}])
async def test_listing_quirks_are_read_alike(knob: dict[str, bool]) -> None:
    async with grdf_world(fake=knob) as world:
        right = await world.adapter.declare(declaration(world.simulator))
        assert right.state is UpstreamState.REQUESTED


async def test_the_token_needs_the_right_scope() -> None:
    async with grdf_world(config={"scope": "/adict/v1"}) as world:
        with pytest.raises(UpstreamCredentialsRejected):
            await world.adapter.access_rights(GAS)
