"""The demo world, ``DEMO_PLAN`` (the types are :mod:`consent.demo.plan`).

- Camille Martin (Paris) has an Enedis PRM and a GRDF PCE;
- Julien Bernard (Lyon) is a prosumer: one PRM metering consumption and production;
- Sofia Leroy moved into a flat in Lille on 2026-10-01; Paul Petit lived there before, and his
  occupancy ends at that very instant (R8, R9);
- Lotte Peeters (Namur) is served by the in-house DSO: electricity and gas EANs (GS1 check
  digit valid);
- three recipient apps (a dashboard, a solar cadastre, a supplier), an operator admin, a
  reviewer, an auditor and a social worker of the Namur CPAS (for mandates, R11);
- market rules (issue 8, :mod:`consent.demo.market`): Lotte is assisted by the CPAS, which holds
  a standing mandate for her and reads through its own app (R11); seven neighbours in Jambes
  (Namur) form a collective self-consumption community run by the app "Énergie Partagée
  Jambes", each with its own consent, so its k = 5 aggregate is served: six individual
  consents, and Gaëlle Wauters's *community* consent, which lets the app use her point only
  inside the aggregate (R4); the supplier
  Énergie Verte holds the supply contracts of Camille's and Julien's electricity (R13); a
  second operator admin and a support agent make two-person approvals and least privilege
  visible (R19).
"""

from __future__ import annotations

from datetime import UTC, datetime

from consent.demo.market import DemoCommunity, DemoConsent, DemoMandate, DemoSupply
from consent.demo.plan import (
    DemoHousehold,
    DemoOccupancy,
    DemoPlan,
    DemoPoint,
    DemoRecipient,
    DemoStaff,
)
from consent.identifiers import Source, gs1_check_digit
from consent.models import AccountRole, MandateScope, PartyKind
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.vocabulary import Dataset, Direction, Energy, Resolution

_C, _P = Direction.CONSUMPTION, Direction.PRODUCTION


def _utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


_HOUSEHOLDS = (
    DemoHousehold("camille", "Camille Martin", "camille", "camille-demo-2026",
                  "camille.martin@example.org"),
    DemoHousehold("julien", "Julien Bernard", "julien", "julien-demo-2026",
                  "julien.bernard@example.org"),
    DemoHousehold("sofia", "Sofia Leroy", "sofia", "sofia-demo-2026", "sofia.leroy@example.org"),
    DemoHousehold("paul", "Paul Petit", "paul", "paul-demo-2026", "paul.petit@example.org"),
    DemoHousehold("lotte", "Lotte Peeters", "lotte", "lotte-demo-2026",
                  "lotte.peeters@example.be"),
)

# --- market rules (issue 8): six neighbours of a collective self-consumption operation -------
_JAMBES = ("amelie Amélie Dubois", "bruno Bruno Lambert", "chloe Chloé Renard",
           "david David Mertens", "emilie Émilie Jacobs", "francois François Simon")
_NEIGHBOURS = tuple(DemoHousehold(k, name, k, f"{k}-demo-2026", f"{k}@example.be")
                    for k, name in (entry.split(" ", 1) for entry in _JAMBES))
# A seventh neighbour, who joined later and lets the organiser use her point only inside the
# community's aggregate: a community consent (R4), beside the six individual ones.
_GAELLE = DemoHousehold("gaelle", "Gaëlle Wauters", "gaelle", "gaelle-demo-2026",
                        "gaelle@example.be")


def _ean(n: int) -> str:
    body = f"54144930000000{n:03d}"
    return body + str(gs1_check_digit(body))

_MOVE_IN = datetime(2026, 9, 30, 22, tzinfo=UTC)  # 2026-10-01 00:00 in Lille (UTC+2)

_POINTS = (
    DemoPoint("camille-elec", Source.ENEDIS, "22516914714270", Energy.ELECTRICITY, (_C,),
              "12 rue Oberkampf", "75011", "Paris", "France",
              (DemoOccupancy("camille", _utc(2019, 3, 1)),), insee_code="75111"),
    DemoPoint("camille-gas", Source.GRDF, "19112233445566", Energy.GAS, (_C,),
              "12 rue Oberkampf", "75011", "Paris", "France",
              (DemoOccupancy("camille", _utc(2019, 3, 1)),), insee_code="75111"),
    DemoPoint("julien-elec", Source.ENEDIS, "24134785609130", Energy.ELECTRICITY, (_C, _P),
              "8 montée de la Grande-Côte", "69001", "Lyon", "France",
              (DemoOccupancy("julien", _utc(2021, 6, 15)),), insee_code="69381"),
    DemoPoint("lille-elec", Source.ENEDIS, "30001610071843", Energy.ELECTRICITY, (_C,),
              "45 rue de Gand", "59800", "Lille", "France",
              (DemoOccupancy("paul", _utc(2018, 9, 1), _MOVE_IN),
               DemoOccupancy("sofia", _MOVE_IN)), insee_code="59350"),
    DemoPoint("lille-gas", Source.GRDF, "GI060511", Energy.GAS, (_C,),
              "45 rue de Gand", "59800", "Lille", "France",
              (DemoOccupancy("paul", _utc(2018, 9, 1), _MOVE_IN),
               DemoOccupancy("sofia", _MOVE_IN)), insee_code="59350"),
    DemoPoint("lotte-elec", Source.INHOUSE, "541449100000001236", Energy.ELECTRICITY, (_C,),
              "Rue de Fer 25", "5000", "Namur", "Belgique",
              (DemoOccupancy("lotte", _utc(2020, 1, 1)),)),
    DemoPoint("lotte-gas", Source.INHOUSE, "541449200000004562", Energy.GAS, (_C,),
              "Rue de Fer 25", "5000", "Namur", "Belgique",
              (DemoOccupancy("lotte", _utc(2020, 1, 1)),)),
    *(DemoPoint(f"{h.key}-elec", Source.INHOUSE, _ean(n), Energy.ELECTRICITY, (_C,),
                f"Rue de Dave {10 + 2 * n}", "5100", "Jambes", "Belgique",
                (DemoOccupancy(h.key, _utc(2022, 4, 1)),))
      for n, h in enumerate(_NEIGHBOURS, start=1)),
    DemoPoint("gaelle-elec", Source.INHOUSE, _ean(len(_NEIGHBOURS) + 1), Energy.ELECTRICITY,
              (_C,), "Rue de Dave 24", "5100", "Jambes", "Belgique",
              (DemoOccupancy("gaelle", _utc(2023, 9, 1)),)),
)

_LOOPBACK = "http://127.0.0.1:8765/callback"

_RECIPIENTS = (
    DemoRecipient(
        "wattwatcher", "Watt Watcher", "demo-wattwatcher", "https://wattwatcher.example",
        "privacy@wattwatcher.example", (Purpose.ENERGY_MONITORING, Purpose.ENERGY_ADVICE),
        LegalBasis.CONSENT, DataRole.CONTROLLER,
        (Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE, Dataset.DAILY_MAX_POWER,
         Dataset.CONSUMPTION_INDEX, Dataset.DAILY_PRODUCTION, Dataset.PRODUCTION_LOAD_CURVE),
        (_LOOPBACK, "https://wattwatcher.example/oauth/callback"),
        # An existing Data Connect client tries the compatible consent page with this app.
        dataconnect=True),
    DemoRecipient(
        "soleil", "Cadastre Solaire Lumière", "demo-soleil", "https://soleil.example",
        "dpo@soleil.example", (Purpose.SOLAR_ASSESSMENT,), LegalBasis.CONSENT,
        DataRole.CONTROLLER,
        (Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE, Dataset.DAILY_PRODUCTION,
         Dataset.PRODUCTION_LOAD_CURVE, Dataset.ADDRESS),
        ("http://127.0.0.1:8766/callback", "https://soleil.example/callback")),
    DemoRecipient(
        "energieverte", "Énergie Verte Coop", "demo-energie-verte", "https://energieverte.example",
        "contrats@energieverte.example", (Purpose.SUPPLY_CONTRACT,), LegalBasis.CONTRACT,
        DataRole.CONTROLLER,
        (Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_INDEX, Dataset.CONTRACT,
         Dataset.IDENTITY, Dataset.CONTACT, Dataset.ADDRESS),
        ("http://127.0.0.1:8767/callback", "https://energieverte.example/oauth/return"),
        is_supplier=True, supplier_code="EVC-5499000000007"),
    DemoRecipient(
        "pmo", "Énergie Partagée Jambes", "demo-pmo-jambes", "https://partage-jambes.example",
        "pmo@partage-jambes.example", (Purpose.COLLECTIVE_SELF_CONSUMPTION,),
        LegalBasis.CONSENT, DataRole.CONTROLLER,
        (Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE),
        ("http://127.0.0.1:8768/callback", "https://partage-jambes.example/callback")),
    DemoRecipient(
        "cpas-app", "CPAS de Namur — suivi énergie", "demo-cpas-namur",
        "https://cpas-namur.example", "dpo@cpas-namur.example", (Purpose.SOCIAL_SUPPORT,),
        LegalBasis.PUBLIC_TASK, DataRole.CONTROLLER,
        (Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_INDEX, Dataset.CONTRACT),
        ("http://127.0.0.1:8769/callback", "https://cpas-namur.example/callback"),
        organisation="CPAS de Namur (démo)"),
)

_OPERATOR = "Passerelle démo (opérateur)"

_STAFF = (
    DemoStaff("admin", "Alex Admin", "admin", "admin-demo-2026", (AccountRole.OPERATOR_ADMIN,),
              _OPERATOR, PartyKind.OPERATOR),
    DemoStaff("reviewer", "Rita Review", "reviewer", "reviewer-demo-2026",
              (AccountRole.REVIEWER,), _OPERATOR, PartyKind.OPERATOR),
    DemoStaff("auditor", "Aude Auditrice", "auditor", "auditor-demo-2026",
              (AccountRole.AUDITOR,), "Auditeur externe (démo)", PartyKind.AUDITOR),
    DemoStaff("cpas", "Marc Social", "cpas", "cpas-demo-2026", (AccountRole.MANDATARY,),
              "CPAS de Namur (démo)", PartyKind.SOCIAL_SERVICES),
    DemoStaff("admin2", "Olga Ops", "admin2", "admin2-demo-2026",
              (AccountRole.OPERATOR_ADMIN,), _OPERATOR, PartyKind.OPERATOR),
    DemoStaff("support", "Sam Support", "support", "support-demo-2026", (AccountRole.SUPPORT,),
              _OPERATOR, PartyKind.OPERATOR),
)

_CURVE = (Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE)
_CONSENTS = (
    *(DemoConsent(h.key, "pmo", (f"{h.key}-elec",), _CURVE,
                  Purpose.COLLECTIVE_SELF_CONSUMPTION, max_resolution=Resolution.PT30M)
      for h in _NEIGHBOURS),
    DemoConsent("camille", "energieverte", ("camille-elec",),
                (Dataset.DAILY_CONSUMPTION, Dataset.CONTRACT), Purpose.SUPPLY_CONTRACT),
    DemoConsent("gaelle", "pmo", ("gaelle-elec",), _CURVE, Purpose.COLLECTIVE_SELF_CONSUMPTION,
                max_resolution=Resolution.PT30M, community="jambes"),
)
_MANDATES = (
    DemoMandate("lotte", "CPAS de Namur (démo)", MandateScope.BOTH, ("lotte-elec", "lotte-gas"),
                (Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_INDEX, Dataset.CONTRACT)),
)
_COMMUNITIES = (
    DemoCommunity("jambes", "Soleil de Jambes", "pmo",
                  (*((h.key, f"{h.key}-elec") for h in _NEIGHBOURS),
                   ("gaelle", "gaelle-elec"))),
)
_SUPPLY = (DemoSupply("camille-elec", "energieverte", _utc(2019, 3, 1)),
           DemoSupply("julien-elec", "energieverte", _utc(2021, 6, 15)))

DEMO_PLAN = DemoPlan(
    households=(*_HOUSEHOLDS, *_NEIGHBOURS, _GAELLE),
    points=_POINTS,
    recipients=_RECIPIENTS,
    staff=_STAFF,
    upstream_valid_until=_utc(2029, 9, 30),
    consents=_CONSENTS,
    mandates=_MANDATES,
    communities=_COMMUNITIES,
    supply=_SUPPLY,
)
