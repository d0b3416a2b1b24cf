"""``guichet audit verify``."""

from __future__ import annotations

import argparse
from typing import Any

from hub.audit import verify_chain
from hub.cli.common import with_hub
from hub.core import Hub


def register(sub: Any) -> None:
    p = sub.add_parser("audit", help="journal d'audit (traçabilité des accès)")
    verbs = p.add_subparsers(dest="verb", metavar="ACTION", required=True)
    v = verbs.add_parser("verify", help="vérifier l'intégrité de la chaîne d'audit",
                         description="Recalcule la chaîne de hachage à clé du journal d'audit et la compare aux "
                                     "points de contrôle signés gardés hors de la base. Code de sortie 0 si elle "
                                     "est intacte ; sinon 1, avec le numéro de la première entrée modifiée, "
                                     "supprimée, déplacée, forgée ou du point où la chaîne a été tronquée.")
    v.set_defaults(func=run_verify)
    w = verbs.add_parser("who", help="pseudonyme d'une adresse dans le journal d'audit",
                         description="Le journal ne garde pas en clair l'adresse d'un salarié qui écrit ni ce qui "
                                     "a été saisi comme identifiant : il garde un pseudonyme (hachage à clé). "
                                     "Cette commande affiche le pseudonyme d'une adresse, pour retrouver ses "
                                     "entrées (acteurs « email:… » et « login:… »).")
    w.add_argument("address", help="adresse électronique (ou identifiant saisi)")
    w.set_defaults(func=run_who)


def run_verify(args: argparse.Namespace) -> int:
    async def body(hub: Hub) -> int:
        checked, broken = await verify_chain(hub.audit)
        if broken is None:
            print(f"Journal d'audit intact : {checked} entrées vérifiées.")
            return 0
        problem = {"altered": "modifiée", "removed": "supprimée", "reordered": "déplacée", "forged": "forgée",
                   "truncated": "manquante (chaîne tronquée)"}
        word = next((fr for en, fr in problem.items() if broken.problem.startswith(en)), "invalide")
        print(f"Journal d'audit ALTÉRÉ : entrée n° {broken.seq} {word} ({broken}). "
              f"{checked} entrées valides avant elle.")
        return 1

    return with_hub(body)


def run_who(args: argparse.Namespace) -> int:
    async def body(hub: Hub) -> int:
        pseudonym = hub.audit.keys.pseudonym
        print(f"email:{pseudonym('email', args.address)}")
        print(f"login:{pseudonym('login', args.address)}")
        return 0

    return with_hub(body)
