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
                         description="Recalcule la chaîne de hachage du journal d'audit. Code de sortie 0 si elle "
                                     "est intacte ; sinon 1, avec le numéro de la première entrée modifiée, "
                                     "supprimée ou déplacée.")
    v.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    async def body(hub: Hub) -> int:
        checked, broken = await verify_chain(hub.db)
        if broken is None:
            print(f"Journal d'audit intact : {checked} entrées vérifiées.")
            return 0
        problem = {"altered": "modifiée", "removed": "supprimée", "reordered": "déplacée"}
        word = next((fr for en, fr in problem.items() if broken.problem.startswith(en)), "invalide")
        print(f"Journal d'audit ALTÉRÉ : entrée n° {broken.seq} {word} ({broken}). "
              f"{checked} entrées valides avant elle.")
        return 1

    return with_hub(body)
