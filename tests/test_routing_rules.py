"""Each routing rule alone, on the trap directory (see ``test_routing_directory``)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.core import Hub
from hub.routing import Decision, RoutingFacts
from hub.routing.rules import (
    AbsentPhysician,
    EmployerByName,
    EmployerBySiret,
    PdpReferral,
    StructureCommune,
    TempAgency,
    Triage,
)
from tests.test_routing_directory import SIRETS, TODAY, Ids, load_tricky_directory


@pytest.fixture
async def ids(hub: Hub, tmp_path: Path) -> Ids:
    return await load_tricky_directory(hub, tmp_path)


def facts(event: str = "coordination-request", **kw: Any) -> RoutingFacts:
    return RoutingFacts(event=event, channel="email", requester_kind=kw.pop("requester_kind", "gp"), **kw)


async def decide(hub: Hub, rule: Any, f: RoutingFacts) -> Decision | None:
    async with hub.db.session() as session:
        result: Decision | None = await rule.decide(session, f)
        return result


async def refine(hub: Hub, rule: Any, f: RoutingFacts, d: Decision, today: date = TODAY) -> Decision | None:
    async with hub.db.session() as session:
        result: Decision | None = await rule.refine(session, f, d, today)
        return result


def to_doctor(ids: Ids, who: str, team: str, employer: str | None = None) -> Decision:
    return Decision("employer-siret", "…", practitioner_id=ids.doc[who], team_id=ids.team[team],
                    employer_id=ids.emp[employer] if employer else None, basis="raison d'origine")


# -- rule 1: employer by SIRET ------------------------------------------------------------------------------
async def test_siret_of_member_goes_to_its_physician_with_explanation(hub: Hub, ids: Ids) -> None:
    d = await decide(hub, EmployerBySiret(), facts(employer_siret=SIRETS["aubry-co"]))
    assert d is not None and not d.in_triage
    assert (d.rule, d.practitioner_id, d.team_id, d.employer_id) == (
        "employer-siret", ids.doc["aubry"], ids.team["E1"], ids.emp["aubry-co"])
    assert d.explanation == (f"Adressé à vous : l'employeur SIRET {SIRETS['aubry-co']} (Menuiserie Aubry) fait "
                             "partie de votre portefeuille.")
    assert d.facts["siret"] == SIRETS["aubry-co"] and d.facts["physician_rpps"]


async def test_siret_of_member_without_physician_goes_to_its_team(hub: Hub, ids: Ids) -> None:
    d = await decide(hub, EmployerBySiret(), facts(employer_siret=SIRETS["team-only"]))
    assert d is not None and d.practitioner_id is None and d.team_id == ids.team["E2"]
    assert d.explanation.startswith("Adressé à votre équipe (Équipe E2)")


async def test_siret_of_closed_member_does_not_match_and_says_why(hub: Hub, ids: Ids) -> None:
    d = await decide(hub, EmployerBySiret(), facts(employer_siret=SIRETS["closed"]))
    assert d is not None and d.in_triage
    assert d.practitioner_id is None and d.team_id is None and d.employer_id is None
    assert d.triage_reason is not None
    assert d.triage_reason.startswith("employeur radié / n'est plus adhérent")
    assert SIRETS["closed"] in d.triage_reason and d.facts["active"] is False


async def test_siret_of_member_with_neither_team_nor_physician_goes_to_triage(hub: Hub, ids: Ids) -> None:
    d = await decide(hub, EmployerBySiret(), facts(employer_siret=SIRETS["orphan"]))
    assert d is not None and d.in_triage and d.employer_id == ids.emp["orphan"]
    assert d.triage_reason is not None and d.triage_reason.startswith("adhérent sans équipe ni médecin")


async def test_siret_rule_does_not_apply_to_unknown_or_missing_siret(hub: Hub, ids: Ids) -> None:
    assert await decide(hub, EmployerBySiret(), facts(employer_siret=SIRETS["newcomer"])) is None
    assert await decide(hub, EmployerBySiret(), facts(employer_name="Menuiserie Aubry")) is None


# -- rule 2: temp agencies ----------------------------------------------------------------------------------
async def test_agency_physician_in_interim_team_keeps_the_request(hub: Hub, ids: Ids) -> None:
    f = facts(employer_siret=SIRETS["agency1"])
    first = await decide(hub, EmployerBySiret(), f)
    assert first is not None
    d = await refine(hub, TempAgency(), f, first)
    assert d is not None and (d.rule, d.practitioner_id, d.team_id) == ("interim", ids.doc["fabre"], ids.team["INT"])
    assert "travail temporaire (NAF 7820Z)" in d.explanation and d.facts["interim_team"] == "INT"


async def test_agency_followed_by_a_standard_team_goes_to_the_interim_team_of_its_centre(hub: Hub, ids: Ids) -> None:
    f = facts(employer_siret=SIRETS["agency2"])
    first = await decide(hub, EmployerBySiret(), f)
    assert first is not None and first.practitioner_id == ids.doc["gaudin"]  # the agency's own physician (S1)
    d = await refine(hub, TempAgency(), f, first)
    assert d is not None and d.practitioner_id is None and d.team_id == ids.team["INT2"]
    assert d.explanation.startswith("Adressé à votre équipe (Équipe intérim Saint-Nazaire)")


async def test_agency_without_team_leaves_triage_for_the_first_interim_team(hub: Hub, ids: Ids) -> None:
    f = facts(employer_siret=SIRETS["agency3"])
    first = await decide(hub, EmployerBySiret(), f)
    assert first is not None and first.in_triage
    d = await refine(hub, TempAgency(), f, first)
    assert d is not None and not d.in_triage and d.team_id == ids.team["INT"]


async def test_interim_rule_ignores_other_employers_and_undecided_requests(hub: Hub, ids: Ids) -> None:
    f = facts(employer_siret=SIRETS["aubry-co"])
    first = await decide(hub, EmployerBySiret(), f)
    assert first is not None
    assert await refine(hub, TempAgency(), f, first) is None
    assert await refine(hub, TempAgency(), f, Decision("triage", "…", triage_reason="x")) is None


# -- rule 3: PDP referrals ----------------------------------------------------------------------------------
async def test_pdp_referral_keeps_the_physician_and_informs_the_cell_of_the_centre(hub: Hub, ids: Ids) -> None:
    base = to_doctor(ids, "aubry", "E1", "aubry-co")
    d = await refine(hub, PdpReferral(), facts("pdp-referral"), base)
    assert d is not None and d.rule == "pdp-referral"
    assert (d.practitioner_id, d.team_id, d.informed_team_id) == (ids.doc["aubry"], ids.team["E1"],
                                                                   ids.team["PDP"])
    assert "Cellule PDP Nantes" in d.explanation and d.explanation.startswith(base.explanation)
    other = await refine(hub, PdpReferral(), facts("pdp-referral"), to_doctor(ids, "gaudin", "S1"))
    assert other is not None and other.informed_team_id == ids.team["PDP2"]


async def test_pdp_referral_in_triage_still_informs_a_cell(hub: Hub, ids: Ids) -> None:
    d = await refine(hub, PdpReferral(), facts("pdp-referral"), Decision("triage", "…", triage_reason="x"))
    assert d is not None and d.in_triage and d.informed_team_id == ids.team["PDP"]


async def test_other_events_do_not_inform_the_pdp_cell(hub: Hub, ids: Ids) -> None:
    base = to_doctor(ids, "aubry", "E1")
    assert await refine(hub, PdpReferral(), facts("pre-return-visit-request"), base) is None


# -- rule 4: absences ---------------------------------------------------------------------------------------
async def test_absent_physician_whose_delegate_is_absent_too_goes_down_the_chain(hub: Hub, ids: Ids) -> None:
    base = to_doctor(ids, "bodin", "E1", "bodin-co")
    d = await refine(hub, AbsentPhysician(), facts(), base)
    assert d is not None and d.rule == "absence" and d.practitioner_id == ids.doc["aubry"]
    assert d.team_id == ids.team["E1"] and d.employer_id == ids.emp["bodin-co"]
    assert "Dr Bodin est absent jusqu'au 31 décembre 2026, remplacé par Dr Caron" in d.explanation
    assert "Dr Caron est absent jusqu'au 20 décembre 2026, remplacé par Dr Aubry" in d.explanation
    assert "raison d'origine" in d.explanation
    assert [a["practitioner_id"] for a in d.facts["absent"]] == [ids.doc["bodin"], ids.doc["caron"]]


async def test_absence_depends_on_today_and_the_last_day_counts(hub: Hub, ids: Ids) -> None:
    base = to_doctor(ids, "bodin", "E1")
    later = await refine(hub, AbsentPhysician(), facts(), base, today=date(2026, 12, 21))
    assert later is not None and later.practitioner_id == ids.doc["caron"]  # Caron is back, Bodin is not
    last_day = await refine(hub, AbsentPhysician(), facts(), base, today=date(2026, 12, 31))
    assert last_day is not None and last_day.practitioner_id == ids.doc["caron"]
    assert await refine(hub, AbsentPhysician(), facts(), base, today=date(2027, 1, 1)) is None


async def test_delegates_in_a_loop_send_the_request_to_the_team(hub: Hub, ids: Ids) -> None:
    d = await refine(hub, AbsentPhysician(), facts(), to_doctor(ids, "dupuis", "E2", "dupuis-co"))
    assert d is not None and d.practitioner_id is None and d.team_id == ids.team["E2"] and not d.in_triage
    assert "revient à Dr Dupuis" in d.explanation and d.explanation.startswith("Adressé à votre équipe (Équipe E2)")


async def test_absent_without_delegate_goes_to_the_team_or_to_triage(hub: Hub, ids: Ids) -> None:
    d = await refine(hub, AbsentPhysician(), facts(), to_doctor(ids, "gaudin", "S1"), today=TODAY)
    assert d is not None and d.practitioner_id is None and d.team_id == ids.team["S1"]
    assert "sans remplaçant désigné" in d.explanation
    hamon = Decision("employer-siret", "…", practitioner_id=ids.doc["hamon"], employer_id=ids.emp["hamon-co"])
    t = await refine(hub, AbsentPhysician(), facts(), hamon)
    assert t is not None and t.in_triage and t.practitioner_id is None
    assert t.triage_reason is not None and t.triage_reason.startswith("médecin absent et aucun remplaçant présent")


async def test_present_physician_and_team_decisions_are_left_alone(hub: Hub, ids: Ids) -> None:
    assert await refine(hub, AbsentPhysician(), facts(), to_doctor(ids, "aubry", "E1")) is None
    assert await refine(hub, AbsentPhysician(), facts(), Decision("x", "…", team_id=ids.team["E1"])) is None


# -- rule 5: employer by name -------------------------------------------------------------------------------
async def test_two_employers_with_the_same_name_are_ambiguous(hub: Hub, ids: Ids) -> None:
    d = await decide(hub, EmployerByName(), facts(employer_name="Boulangerie Léon"))
    assert d is not None and d.in_triage and d.practitioner_id is None and d.team_id is None
    assert d.triage_reason is not None
    assert d.triage_reason.startswith("employeur ambigu : 2 établissements correspondent")
    assert d.facts["candidates"] == [SIRETS["leon-nantes"], SIRETS["leon-stn"]]


async def test_postcode_or_commune_disambiguates_a_name(hub: Hub, ids: Ids) -> None:
    by_postcode = await decide(hub, EmployerByName(), facts(employer_name="BOULANGERIE LEON",
                                                            employer_postcode="44300"))
    assert by_postcode is not None and by_postcode.practitioner_id == ids.doc["aubry"]
    assert by_postcode.employer_id == ids.emp["leon-nantes"] and by_postcode.rule == "employer-name"
    assert SIRETS["leon-nantes"] in by_postcode.explanation
    by_commune = await decide(hub, EmployerByName(), facts(employer_name="boulangerie  léon.",
                                                           employer_commune="44184"))
    assert by_commune is not None and by_commune.employer_id == ids.emp["leon-stn"]
    assert by_commune.team_id == ids.team["S1"] and by_commune.practitioner_id is None


async def test_name_rule_does_not_apply_without_a_match_or_with_a_siret(hub: Hub, ids: Ids) -> None:
    assert await decide(hub, EmployerByName(), facts(employer_name="Boulangerie Léon",
                                                     employer_postcode="75001")) is None
    assert await decide(hub, EmployerByName(), facts(employer_name="Inconnue SA")) is None
    assert await decide(hub, EmployerByName(), facts(employer_name="Ancienne Forge")) is None  # closed member
    assert await decide(hub, EmployerByName(), facts(employer_siret=SIRETS["newcomer"],
                                                     employer_name="Menuiserie Aubry")) is None


# -- rule 6: CPTS/DAC with unknown employer -----------------------------------------------------------------
async def test_cpts_request_without_employer_goes_to_the_centre_of_the_worker_commune(hub: Hub, ids: Ids) -> None:
    f = facts(requester_kind="coordinator", structure_id="CPTS-T", worker_commune="44184")
    d = await decide(hub, StructureCommune(), f)
    assert d is not None and d.team_id == ids.team["S1"] and d.practitioner_id is None
    assert "CPTS de test" in d.explanation and "44184" in d.explanation and d.facts["centre"] == "C2"
    dac = await decide(hub, StructureCommune(), facts(structure_id="DAC-T", worker_commune="44109",
                                                      employer_siret=SIRETS["newcomer"]))
    assert dac is not None and dac.team_id == ids.team["E1"]  # first standard team of centre C1


async def test_commune_rule_needs_a_known_structure_a_centre_and_an_unknown_employer(hub: Hub, ids: Ids) -> None:
    assert await decide(hub, StructureCommune(), facts(structure_id="CPTS-T", worker_commune="44114")) is None
    assert await decide(hub, StructureCommune(), facts(structure_id="CPTS-NOPE", worker_commune="44109")) is None
    assert await decide(hub, StructureCommune(), facts(worker_commune="44109")) is None
    assert await decide(hub, StructureCommune(), facts(structure_id="CPTS-T", worker_commune="44109",
                                                       employer_siret=SIRETS["aubry-co"])) is None


# -- rule 7: triage -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kw", "reason"), [
    ({"employer_siret": SIRETS["newcomer"]}, f"employeur non adhérent (SIRET {SIRETS['newcomer']})"),
    ({}, "aucun employeur indiqué"),
    ({"employer_siret": SIRETS["closed"]}, "employeur radié / n'est plus adhérent"),
    ({"employer_name": "Ancienne Forge"}, "employeur radié / n'est plus adhérent"),
    ({"employer_name": "Boulangerie Léon"}, "employeur ambigu : 2 établissements correspondent"),
    ({"employer_name": "Inconnue SA", "employer_postcode": "44000"},
     "employeur introuvable dans l'annuaire (« Inconnue SA » (code postal 44000))"),
    ({"structure_id": "CPTS-T", "worker_commune": "44114"},
     "aucun employeur indiqué ; aucun centre du service dans la commune 44114 du salarié"),
    ({"triage_hint": "SIRET illisible"}, "SIRET illisible — aucun employeur indiqué"),
])
async def test_triage_always_decides_with_a_french_reason(hub: Hub, ids: Ids, kw: dict[str, str], reason: str
                                                          ) -> None:
    d = await decide(hub, Triage(), facts(**kw))
    assert d is not None and d.in_triage and d.rule == "triage"
    assert d.triage_reason is not None and d.triage_reason.startswith(reason)
    assert d.explanation == f"En file de tri : {d.triage_reason}."


async def test_rules_read_the_directory_as_it_is_now(hub: Hub, ids: Ids) -> None:
    """No cache: a physician coming back is seen at once."""
    from sqlalchemy import update

    from hub.store.models import Practitioner

    base = to_doctor(ids, "bodin", "E1")
    async with hub.db.session() as session, session.begin():
        await session.execute(update(Practitioner).where(Practitioner.id == ids.doc["bodin"])
                              .values(absent_until=TODAY - timedelta(days=1)))
    assert await refine(hub, AbsentPhysician(), facts(), base) is None
