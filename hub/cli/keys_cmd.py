"""``guichet keys list`` and ``guichet keys rotate``."""

from __future__ import annotations

import argparse
from typing import Any

from hub.cli.common import with_hub
from hub.core import Hub
from hub.keys import kek_usage, rotate


def register(sub: Any) -> None:
    p = sub.add_parser("keys", help="clés de chiffrement des données")
    verbs = p.add_subparsers(dest="verb", metavar="ACTION", required=True)
    lst = verbs.add_parser("list", help="lister les clés maîtresses et le nombre de clés de données de chacune")
    lst.set_defaults(func=run_list)
    rot = verbs.add_parser("rotate", help="créer une nouvelle clé maîtresse et y ré-envelopper toutes les clés",
                           description="Crée une nouvelle clé maîtresse (KEK), ré-enveloppe chaque clé de données "
                                       "sous cette clé sans déchiffrer ni réécrire les données, service en marche. "
                                       "L'ancienne clé, devenue inutile, est ensuite supprimée du magasin de clés "
                                       "(sauf --keep-old).")
    rot.add_argument("--keep-old", action="store_true", help="garder les anciennes clés maîtresses sur disque")
    rot.set_defaults(func=run_rotate)


def run_list(args: argparse.Namespace) -> int:
    async def body(hub: Hub) -> int:
        usage = await kek_usage(hub)
        active = hub.keystore.active_kek_id()
        for kek_id in sorted(set(hub.keystore.kek_ids()) | set(usage)):
            flag = " (active)" if kek_id == active else ""
            on_disk = "" if kek_id in hub.keystore.kek_ids() else " — ABSENTE DU MAGASIN DE CLÉS"
            print(f"{kek_id}{flag} : {usage.get(kek_id, 0)} clé(s) de données{on_disk}")
        return 0

    return with_hub(body)


def run_rotate(args: argparse.Namespace) -> int:
    async def body(hub: Hub) -> int:
        report = await rotate(hub, retire_old=not args.keep_old)
        print(f"Nouvelle clé maîtresse {report.new_kek_id} : {report.rewrapped} clé(s) de données "
              f"ré-enveloppée(s).")
        for kek_id in report.retired:
            print(f"Ancienne clé {kek_id} supprimée (plus aucune donnée ne l'utilise).")
        return 0

    return with_hub(body)
