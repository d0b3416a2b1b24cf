"""``guichet routing reroute REFERENCE|--triage|--all`` and ``guichet routing rules``."""

from __future__ import annotations

import argparse
from typing import Any

from hub.audit import Actor
from hub.bounces import printable
from hub.cli.common import fail, settings, with_hub
from hub.core import Hub
from hub.routing.lookups import person_name
from hub.routing.pipeline import Router, RoutingConfigError
from hub.routing.reroute import Assignment, RerouteError, RerouteOutcome, request_id_for, reroute_many, reroute_outcome
from hub.store.models import Practitioner, Team

CLI_ACTOR = Actor("cli", "cli")


def register(sub: Any) -> None:
    p = sub.add_parser("routing", help="routage des demandes : réorienter après un changement d'annuaire")
    verbs = p.add_subparsers(dest="verb", metavar="ACTION", required=True)
    r = verbs.add_parser(
        "reroute", help="réorienter une demande, ou toutes celles en file de tri",
        description="Recalcule le destinataire d'une demande ouverte à partir de ses éléments enregistrés et de "
                    "l'annuaire actuel (par exemple après l'import d'un nouveau fichier d'adhérents), enregistre "
                    "la nouvelle décision de routage et son explication, et trace l'opération dans le journal "
                    "d'audit. Le nouveau destinataire est prévenu par courriel. Affiche, pour chaque demande, "
                    "l'ancien et le nouveau destinataire.")
    target = r.add_mutually_exclusive_group(required=True)
    target.add_argument("reference", nargs="?", help="référence de la demande (GU-XXXX-XXXX)")
    target.add_argument("--triage", action="store_true",
                        help="réorienter toutes les demandes ouvertes en file de tri")
    target.add_argument("--all", action="store_true",
                        help="réorienter toutes les demandes ouvertes (sauf celles réattribuées à la main)")
    r.set_defaults(func=run_reroute)
    rules = verbs.add_parser("rules", help="afficher les règles de routage dans leur ordre d'application",
                             description="Affiche l'ordre des règles (réglage routing_order de guichet.toml).")
    rules.set_defaults(func=run_rules)


async def _names(hub: Hub) -> tuple[dict[int, str], dict[int, str]]:
    from sqlalchemy import select

    async with hub.db.session() as session:
        doctors = {p.id: person_name(p) for p in (await session.execute(select(Practitioner))).scalars()}
        teams = {t.id: t.name for t in (await session.execute(select(Team))).scalars()}
    return doctors, teams


def describe(a: Assignment, doctors: dict[int, str], teams: dict[int, str]) -> str:
    """French: ``Dr Anne Le Goff (Équipe Nantes 1)``, ``file de tri (raison)``…"""
    if a.in_triage:
        text = f"file de tri ({a.triage_reason or 'sans raison'})"
    elif a.practitioner_id is not None:
        text = doctors.get(a.practitioner_id, f"praticien {a.practitioner_id}")
        if a.team_id is not None:
            text += f" ({teams.get(a.team_id, a.team_id)})"
    elif a.team_id is not None:
        text = f"équipe {teams.get(a.team_id, a.team_id)}"
    else:
        text = "personne"
    if a.informed_team_id is not None:
        text += f", {teams.get(a.informed_team_id, a.informed_team_id)} informée"
    return text


def line(outcome: RerouteOutcome, doctors: dict[int, str], teams: dict[int, str]) -> str:
    before = describe(outcome.before, doctors, teams)
    if not outcome.changed:
        return f"{outcome.reference} : inchangée — {before} [règle {outcome.decision.rule}]"
    after = describe(outcome.after, doctors, teams)
    return f"{outcome.reference} : {before} → {after} [règle {outcome.decision.rule}]"


def order_problem() -> str | None:
    """The configured routing order's error (French), checked before the hub opens; ``None`` when valid."""
    try:
        Router.from_settings(settings())
    except RoutingConfigError as exc:
        return f"guichet.toml, routing_order : {exc}"
    return None


def run_reroute(args: argparse.Namespace) -> int:
    problem = order_problem()
    if problem:
        return fail(problem)

    async def body(hub: Hub) -> int:
        if args.reference:
            request_id = await request_id_for(hub, args.reference)
            if request_id is None:
                return fail(f"aucune demande ne porte la référence {args.reference}")
            try:
                outcomes = [await reroute_outcome(hub, request_id, CLI_ACTOR)]
            except RerouteError as exc:
                return fail(str(exc))
        else:
            outcomes = await reroute_many(hub, CLI_ACTOR, only_triage=args.triage)
        doctors, teams = await _names(hub)
        for outcome in outcomes:
            print(printable(line(outcome, doctors, teams)))  # names and triage reasons are stored text
        moved = sum(1 for o in outcomes if o.changed)
        print(f"{len(outcomes)} demande(s) examinée(s), {moved} réorientée(s).")
        return 0

    return with_hub(body)


RULES_FR = {
    "employer-siret": "employeur adhérent trouvé par son SIRET → son médecin, sinon son équipe",
    "interim": "entreprise de travail temporaire (NAF 7820Z) → l'équipe intérim",
    "pdp-referral": "saisine PDP → le médecin du salarié, et la cellule PDP est informée",
    "absence": "médecin absent → son remplaçant (en suivant la chaîne), sinon l'équipe",
    "employer-name": "employeur sans SIRET trouvé par son nom (et code postal/commune), s'il est unique",
    "structure-commune": "demande d'une CPTS/DAC sans employeur connu → le centre de la commune du salarié",
    "triage": "sinon → la file de tri, avec la raison",
}


def run_rules(args: argparse.Namespace) -> int:
    problem = order_problem()
    if problem:
        return fail(problem)

    async def body(hub: Hub) -> int:
        for number, finder in enumerate(hub.router.finders, start=1):
            print(f"{number}. {finder.name} — {RULES_FR.get(finder.name, '')}")
        for refiner in hub.router.refiners:
            print(f"   puis {refiner.name} — {RULES_FR.get(refiner.name, '')}")
        return 0

    return with_hub(body)
