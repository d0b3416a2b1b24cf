"""``guichet users add EMAIL --role ROLE [--rpps RPPS] --password-stdin`` and ``users list | disable EMAIL |
enable EMAIL | revoke-sessions EMAIL | mfa-reset EMAIL`` (``hub.account_admin``). ``mfa-reset`` prints the fresh
``otpauth://`` URI as its last line."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from hub import clock
from hub.account_admin import list_accounts, mfa_reset, revoke_sessions, set_active
from hub.accounts import AccountError, add_user
from hub.audit import Actor
from hub.cli.common import fail, with_hub
from hub.core import Hub
from hub.store.models.security import USER_ROLES

CLI = Actor("cli", "cli")


def register(sub: Any) -> None:
    p = sub.add_parser("users", help="comptes de la boîte de réception")
    verbs = p.add_subparsers(dest="verb", metavar="ACTION", required=True)
    a = verbs.add_parser("add", help="créer ou mettre à jour un compte",
                         description="Crée (ou met à jour) le compte d'un médecin du travail, d'un infirmier, "
                                     "d'une assistante, d'un coordinateur, d'un administrateur ou de la direction. "
                                     "Les rôles physician, nurse et assistant sont rattachés à un praticien de "
                                     "l'annuaire par son RPPS. Mettre à jour un compte met fin à ses sessions.")
    a.add_argument("email", help="adresse électronique de connexion")
    a.add_argument("--role", required=True, choices=USER_ROLES, help="rôle du compte")
    a.add_argument("--rpps", help="RPPS du praticien de l'annuaire rattaché au compte")
    a.add_argument("--structure", help="identifiant de la CPTS/DAC (pour un coordinateur)")
    a.add_argument("--password-stdin", action="store_true",
                   help="lire le mot de passe sur l'entrée standard (sinon il est demandé)")
    a.set_defaults(func=run_add)
    verbs.add_parser("list", help="lister les comptes (rôle, état, second facteur, sessions)").set_defaults(
        func=run_list)
    for verb, helptext, func in (
            ("disable", "désactiver un compte : ses sessions prennent fin immédiatement", run_disable),
            ("enable", "réactiver un compte", run_enable),
            ("revoke-sessions", "mettre fin à toutes les sessions d'un compte", run_revoke),
            ("mfa-reset", "retirer le second facteur et en préparer un nouveau (affiche l'URI otpauth:// à "
                          "scanner, en dernière ligne)", run_mfa_reset)):
        v = verbs.add_parser(verb, help=helptext, description=helptext[0].upper() + helptext[1:] + ".")
        v.add_argument("email", help="adresse électronique du compte")
        v.set_defaults(func=func)


def run_add(args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Mot de passe : ")

    async def body(hub: Hub) -> int:
        try:
            async with hub.db.session() as session, session.begin():
                user = await add_user(session, args.email, args.role, password, args.rpps, args.structure)
                await hub.audit.record(session, actor=CLI, action="update", entity_type="User",
                                       entity_id=str(user.id), detail=f"role {args.role}")
        except AccountError as exc:
            return fail(str(exc))
        print(f"Compte {args.email} ({args.role}) enregistré.")
        return 0

    return with_hub(body)


def run_list(args: argparse.Namespace) -> int:
    async def body(hub: Hub) -> int:
        rows = await list_accounts(hub)
        print(f"{'adresse':40} {'rôle':12} {'état':9} {'2nd facteur':12} {'sessions':>8}  dernière connexion")
        for r in rows:
            last = clock.in_paris(r.last_login).strftime("%d/%m/%Y %H:%M") if r.last_login else "jamais"
            print(f"{r.email:40} {r.role:12} {'actif' if r.active else 'désactivé':9} {r.mfa:12} "
                  f"{r.sessions:>8}  {last}")
        return 0

    return with_hub(body)


def _one(args: argparse.Namespace, work: Any) -> int:
    async def body(hub: Hub) -> int:
        try:
            message = await work(hub, args.email)
        except AccountError as exc:
            return fail(str(exc))
        print(message)
        return 0

    return with_hub(body)


def run_disable(args: argparse.Namespace) -> int:
    async def work(hub: Hub, email: str) -> str:
        await set_active(hub, email, False, CLI)
        return f"Compte {email} désactivé ; ses sessions ont pris fin."

    return _one(args, work)


def run_enable(args: argparse.Namespace) -> int:
    async def work(hub: Hub, email: str) -> str:
        await set_active(hub, email, True, CLI)
        return f"Compte {email} réactivé."

    return _one(args, work)


def run_revoke(args: argparse.Namespace) -> int:
    async def work(hub: Hub, email: str) -> str:
        ended = await revoke_sessions(hub, email, CLI)
        return f"{ended} session(s) de {email} terminée(s)."

    return _one(args, work)


def run_mfa_reset(args: argparse.Namespace) -> int:
    async def work(hub: Hub, email: str) -> str:
        uri = await mfa_reset(hub, email, CLI)
        return (f"Second facteur de {email} retiré ; ses sessions ont pris fin. À scanner dans l'application "
                f"d'authentification (ou présenté en code QR à sa prochaine connexion) :\n{uri}")

    return _one(args, work)
