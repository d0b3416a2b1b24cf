"""``guichet users add EMAIL --role ROLE [--rpps RPPS] --password-stdin``."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from hub.accounts import AccountError, add_user
from hub.audit import Actor
from hub.cli.common import fail, with_hub
from hub.core import Hub
from hub.store.models.security import USER_ROLES


def register(sub: Any) -> None:
    p = sub.add_parser("users", help="comptes de la boîte de réception")
    verbs = p.add_subparsers(dest="verb", metavar="ACTION", required=True)
    a = verbs.add_parser("add", help="créer ou mettre à jour un compte",
                         description="Crée (ou met à jour) le compte d'un médecin du travail, d'un infirmier, "
                                     "d'une assistante, d'un coordinateur ou d'un administrateur. Les rôles "
                                     "physician, nurse et assistant sont rattachés à un praticien de l'annuaire "
                                     "par son RPPS.")
    a.add_argument("email", help="adresse électronique de connexion")
    a.add_argument("--role", required=True, choices=USER_ROLES, help="rôle du compte")
    a.add_argument("--rpps", help="RPPS du praticien de l'annuaire rattaché au compte")
    a.add_argument("--structure", help="identifiant de la CPTS/DAC (pour un coordinateur)")
    a.add_argument("--password-stdin", action="store_true",
                   help="lire le mot de passe sur l'entrée standard (sinon il est demandé)")
    a.set_defaults(func=run_add)


def run_add(args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Mot de passe : ")

    async def body(hub: Hub) -> int:
        try:
            async with hub.db.session() as session, session.begin():
                user = await add_user(session, args.email, args.role, password, args.rpps, args.structure)
                await hub.audit.record(session, actor=Actor("cli", "cli"), action="update", entity_type="User",
                                       entity_id=str(user.id), detail=f"role {args.role}")
        except AccountError as exc:
            return fail(str(exc))
        print(f"Compte {args.email} ({args.role}) enregistré.")
        return 0

    return with_hub(body)
