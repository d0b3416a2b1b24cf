"""The whole pipeline: default order over the trap directory, configuration of the order, determinism, and the
routing the rest of the system gets through intake."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.audit import Actor
from hub.config import Settings
from hub.core import Hub
from hub.intake import EmployerRef, Person, RequestDraft, Requester
from hub.routing import Decision, Router, RoutingFacts
from hub.routing.pipeline import DEFAULT_ORDER, RoutingConfigError, parse_order
from hub.routing.rules import EmployerBySiret
from hub.store.models import Request, RoutingDecision
from tests.protect_support import routing_text
from tests.test_routing_directory import SIRETS, TODAY, Ids, load_tricky_directory


@pytest.fixture
async def ids(hub: Hub, tmp_path: Path) -> Ids:
    return await load_tricky_directory(hub, tmp_path)


def facts(event: str = "coordination-request", **kw: Any) -> RoutingFacts:
    return RoutingFacts(event=event, channel="email", requester_kind=kw.pop("requester_kind", "gp"), **kw)


async def route(hub: Hub, f: RoutingFacts, router: Router | None = None) -> Decision:
    async with hub.db.session() as session:
        return await (router or Router()).route(session, f, today=TODAY)


# (facts, expected rule, physician key, team code, informed team code, triage reason prefix, rules fired)
CASES: list[tuple[RoutingFacts, str, str | None, str | None, str | None, str | None, list[str]]] = [
    (facts(employer_siret=SIRETS["aubry-co"]), "employer-siret", "aubry", "E1", None, None, ["employer-siret"]),
    (facts(employer_siret=SIRETS["bodin-co"]), "absence", "aubry", "E1", None, None,
     ["employer-siret", "absence"]),
    (facts(employer_siret=SIRETS["dupuis-co"]), "absence", None, "E2", None, None, ["employer-siret", "absence"]),
    (facts(employer_siret=SIRETS["closed"]), "employer-siret", None, None, None,
     "employeur radié / n'est plus adhérent", ["employer-siret"]),
    (facts(employer_siret=SIRETS["newcomer"]), "triage", None, None, None, "employeur non adhérent",
     ["triage"]),
    (facts(employer_siret=SIRETS["agency1"]), "interim", "fabre", "INT", None, None,
     ["employer-siret", "interim"]),
    # the agency's own physician (S1, absent) is not in the intérim team: the intérim team of its centre
    (facts(employer_siret=SIRETS["agency2"]), "interim", None, "INT2", None, None, ["employer-siret", "interim"]),
    (facts(employer_siret=SIRETS["agency3"]), "interim", None, "INT", None, None, ["employer-siret", "interim"]),
    (facts("pdp-referral", employer_siret=SIRETS["agency1"], requester_kind="worker"), "pdp-referral", "fabre",
     "INT", "PDP", None, ["employer-siret", "interim", "pdp-referral"]),
    (facts("pdp-referral", employer_siret=SIRETS["bodin-co"]), "absence", "aubry", "E1", "PDP", None,
     ["employer-siret", "pdp-referral", "absence"]),
    (facts("pdp-referral", employer_siret=SIRETS["newcomer"]), "pdp-referral", None, None, "PDP",
     "employeur non adhérent", ["triage", "pdp-referral"]),
    (facts(employer_name="Boulangerie Léon"), "employer-name", None, None, None,
     "employeur ambigu : 2 établissements correspondent", ["employer-name"]),
    (facts(employer_name="Boulangerie Léon", employer_postcode="44300"), "employer-name", "aubry", "E1", None,
     None, ["employer-name"]),
    (facts(employer_name="Intérim Côte", employer_commune="44184"), "interim", None, "INT2", None, None,
     ["employer-name", "interim"]),
    (facts(requester_kind="coordinator", structure_id="CPTS-T", worker_commune="44184"), "structure-commune",
     None, "S1", None, None, ["structure-commune"]),
    (facts(requester_kind="coordinator", structure_id="CPTS-T", worker_commune="44184",
           employer_siret=SIRETS["newcomer"]), "structure-commune", None, "S1", None, None, ["structure-commune"]),
    (facts(requester_kind="coordinator", structure_id="CPTS-T", worker_commune="44114"), "triage", None, None,
     None, "aucun employeur indiqué ; aucun centre du service dans la commune 44114", ["triage"]),
    (facts(employer_siret=SIRETS["hamon-co"]), "absence", None, None, None,
     "médecin absent et aucun remplaçant présent", ["employer-siret", "absence"]),
    (facts(), "triage", None, None, None, "aucun employeur indiqué", ["triage"]),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c[1]}" for i, c in enumerate(CASES)])
async def test_default_pipeline_on_the_trap_directory(hub: Hub, ids: Ids, case: Any) -> None:
    f, rule, doctor, team, informed, reason, fired = case
    d = await route(hub, f)
    assert d.rule == rule
    assert d.practitioner_id == (ids.doc[doctor] if doctor else None)
    assert d.team_id == (ids.team[team] if team else None)
    assert d.informed_team_id == (ids.team[informed] if informed else None)
    if reason is None:
        assert not d.in_triage and d.explanation.startswith("Adressé à ")
    else:
        assert d.in_triage and d.triage_reason is not None and d.triage_reason.startswith(reason)
        assert d.explanation.startswith("En file de tri : ")
    assert d.facts["rules"] == fired
    json.dumps(d.facts)  # stored as JSON: must serialise


async def test_explanations_shown_to_the_physician(hub: Hub, ids: Ids) -> None:
    d = await route(hub, facts(employer_siret=SIRETS["bodin-co"]))
    assert d.explanation == (
        "Adressé à vous en remplacement : Dr Bodin est absent jusqu'au 31 décembre 2026, remplacé par Dr Caron ; "
        "Dr Caron est absent jusqu'au 20 décembre 2026, remplacé par Dr Aubry. Motif : l'employeur SIRET "
        f"{SIRETS['bodin-co']} (Clinique Bodin) fait partie du portefeuille de Dr Bodin.")
    pdp = await route(hub, facts("pdp-referral", employer_siret=SIRETS["agency1"]))
    assert "entreprise de travail temporaire" in pdp.explanation and "Cellule PDP Nantes" in pdp.explanation


async def test_same_input_gives_the_same_decision(hub: Hub, ids: Ids) -> None:
    for f, *_ in CASES:
        first, second = await route(hub, f), await route(hub, f, Router(list(DEFAULT_ORDER)))
        assert first == second
        assert json.dumps(first.facts, sort_keys=True) == json.dumps(second.facts, sort_keys=True)


async def test_ties_are_broken_by_id_not_by_insertion_or_scan_order(hub: Hub, ids: Ids) -> None:
    """Two intérim teams in the same centre: the lowest id wins, whatever the database returns first."""
    from hub.store.models import Team

    async with hub.db.session() as session, session.begin():
        session.add(Team(code="INT-BIS", centre_id=None, name="Intérim bis", kind="interim"))
    d = await route(hub, facts(employer_siret=SIRETS["agency3"]))
    assert d.team_id == ids.team["INT"]


# -- configuring the order ----------------------------------------------------------------------------------
def test_default_router_uses_the_default_order() -> None:
    router = Router()
    assert [r.name for r in router.finders] == ["employer-siret", "employer-name", "structure-commune", "triage"]
    assert [r.name for r in router.refiners] == ["interim", "pdp-referral", "absence"]
    assert set(router.order) == set(DEFAULT_ORDER)


@pytest.mark.parametrize(("order", "message"), [
    (["employer-siret", "employeur-siret"], "règle de routage inconnue : « employeur-siret »"),
    ("employer-siret, absence, absence", "règle de routage en double : « absence »"),
    (["triage", "employer-siret"], "« employer-siret », placée après elle, ne serait jamais appliquée"),
])
def test_bad_orders_are_refused_with_a_clear_error(order: Any, message: str) -> None:
    with pytest.raises(RoutingConfigError) as err:
        Router(parse_order(order))
    assert message in str(err.value)
    if "inconnue" in message:
        assert "employer-siret, interim" in str(err.value)  # the known names are listed


def test_triage_is_always_last_even_when_omitted() -> None:
    assert Router(["employer-siret"]).order == ["employer-siret", "triage"]
    assert Router([EmployerBySiret()]).order == ["employer-siret", "triage"]
    assert parse_order(None) == DEFAULT_ORDER and parse_order(" ") == DEFAULT_ORDER


class EverythingToTeamS1:
    """A rule written against the original contract (``name`` and ``decide``, no ``stage``)."""

    name = "all-to-s1"

    def __init__(self, team_id: int) -> None:
        self.team_id = team_id

    async def decide(self, session: Any, facts: RoutingFacts) -> Decision | None:
        return Decision(self.name, "Adressé à votre équipe.", team_id=self.team_id)


async def test_rule_objects_of_the_original_contract_are_finders(hub: Hub, ids: Ids) -> None:
    router = Router([EverythingToTeamS1(ids.team["S1"]), "absence"])
    assert router.order == ["all-to-s1", "triage", "absence"]
    d = await route(hub, facts(employer_siret=SIRETS["aubry-co"]), router)
    assert (d.rule, d.team_id, d.facts["rules"]) == ("all-to-s1", ids.team["S1"], ["all-to-s1"])
    with pytest.raises(RoutingConfigError, match="il lui faut un nom et une méthode decide"):
        Router([object()])


async def test_the_order_changes_the_outcome(hub: Hub, ids: Ids) -> None:
    no_absence = Router(["employer-siret", "interim", "triage"])
    d = await route(hub, facts(employer_siret=SIRETS["bodin-co"]), no_absence)
    assert d.practitioner_id == ids.doc["bodin"] and d.rule == "employer-siret"
    no_interim = Router(["employer-siret", "absence"])
    d = await route(hub, facts(employer_siret=SIRETS["agency2"]), no_interim)
    assert d.team_id == ids.team["S1"] and d.practitioner_id is None  # Dr Gaudin absent, no delegate → team S1
    commune_first = Router(["structure-commune", "employer-siret"])
    d = await route(hub, facts(structure_id="CPTS-T", worker_commune="44184", employer_siret=SIRETS["aubry-co"]),
                    commune_first)
    assert d.rule == "employer-siret"  # the commune rule never overrides a known employer


async def test_settings_choose_the_order_of_the_hub(settings_factory: Callable[..., Settings],
                                                   database: tuple[str, str | None]) -> None:
    url, schema = database
    settings = settings_factory(database_url=url, database_schema=schema)
    from hub.crypto.keystore import KeyStore

    KeyStore(settings.keys_dir).initialise()
    hub = Hub.open(settings.with_(extra={"routing_order": ["employer-siret", "absence"]}))
    try:
        assert hub.router.order == ["employer-siret", "triage", "absence"]
    finally:
        await hub.close()
    plain = Hub.open(settings)
    try:
        assert plain.router.order == Router().order
    finally:
        await plain.close()
    with pytest.raises(RoutingConfigError, match="inconnue : « sector »"):
        Hub.open(settings.with_(extra={"routing_order": "employer-siret,sector"}))


# -- what the rest of the system gets -----------------------------------------------------------------------
async def test_intake_stores_the_decision_of_the_default_rules(hub: Hub, ids: Ids) -> None:
    draft = RequestDraft(
        event="pdp-referral", channel="form", source_key="routing-test:1",
        requester=Requester(kind="worker", name="Salarié test"), subject="Saisine PDP", reason="…",
        worker=Person(family_name="Testeur", given_names="Alex", residence_commune="44109"),
        employer=EmployerRef(siret=SIRETS["agency1"]))
    result = await hub.intake.submit(draft, Actor("test", "test"))
    assert result.rule == "pdp-referral" and not result.in_triage
    async with hub.db.session() as session:
        request = await session.get(Request, result.request_id)
        rows = (await session.execute(select(RoutingDecision).where(
            RoutingDecision.request_id == result.request_id))).scalars().all()
    assert request is not None
    assert (request.assigned_practitioner_id, request.assigned_team_id, request.informed_team_id,
            request.employer_id) == (ids.doc["fabre"], ids.team["INT"], ids.team["PDP"], ids.emp["agency1"])
    assert len(rows) == 1 and rows[0].current and rows[0].rule == "pdp-referral"
    text = await routing_text(hub, rows[0])
    stored = text.facts
    assert stored["rules"] == ["employer-siret", "interim", "pdp-referral"] and stored["pdp_team"] == "PDP"
    assert "Testeur" not in json.dumps(stored) and "Testeur" not in text.explanation  # no worker identity
