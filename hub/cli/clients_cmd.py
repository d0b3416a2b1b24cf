"""``guichet clients add --name N --structure ID --jwks FILE --scope S``, ``clients list``, ``clients disable ID``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.audit import Actor
from hub.bounces import printable
from hub.cli.common import fail, with_hub
from hub.core import Hub
from hub.smart import KNOWN_SCOPES
from hub.smart.clients import ClientError, register_client
from hub.store.models import ApiClient


def register(sub: Any) -> None:
    p = sub.add_parser("clients", help="clients de l'API FHIR (CPTS, DAC)")
    verbs = p.add_subparsers(dest="verb", metavar="ACTION", required=True)
    a = verbs.add_parser("add", help="enregistrer un client de l'API",
                         description="Enregistre le logiciel d'une CPTS ou d'un DAC de l'annuaire comme client de "
                                     "l'API FHIR (SMART Backend Services) avec ses clés PUBLIQUES (JWKS). "
                                     "Affiche l'identifiant du client en dernière ligne.")
    a.add_argument("--name", required=True, help="nom du client (ex. « Logiciel de coordination CPTS Nord »)")
    a.add_argument("--structure", required=True, help="identifiant de la CPTS/DAC dans l'annuaire")
    a.add_argument("--jwks", required=True, type=Path, help="fichier JSON des clés publiques (JWK Set)")
    a.add_argument("--scope", required=True,
                   help=f"portées autorisées, séparées par des espaces (connues : {' '.join(KNOWN_SCOPES)})")
    a.set_defaults(func=run_add)
    ls = verbs.add_parser("list", help="lister les clients de l'API")
    ls.set_defaults(func=run_list)
    d = verbs.add_parser("disable", help="désactiver un client (ses jetons cessent d'être acceptés sous 30 s)")
    d.add_argument("client_id", help="identifiant du client")
    d.set_defaults(func=run_disable)


def run_add(args: argparse.Namespace) -> int:
    try:
        jwks_text = args.jwks.read_text(encoding="utf-8")
    except OSError as exc:
        return fail(f"fichier JWKS illisible : {args.jwks} ({exc.strerror})")

    async def body(hub: Hub) -> int:
        try:
            async with hub.db.session() as session, session.begin():
                client = await register_client(session, args.name, args.structure, jwks_text, args.scope)
                await hub.audit.record(session, actor=Actor("cli", "cli"), action="create", entity_type="ApiClient",
                                       entity_id=client.id, detail=f"structure {args.structure}")
        except ClientError as exc:
            return fail(str(exc))
        print(f"Client « {client.name} » enregistré pour {client.structure_id}, portées : {client.scopes}")
        print(client.id)
        return 0

    return with_hub(body)


def run_list(args: argparse.Namespace) -> int:
    async def body(hub: Hub) -> int:
        async with hub.db.session() as session:
            rows = (await session.execute(select(ApiClient).order_by(ApiClient.created_at))).scalars().all()
        for row in rows:
            state = "actif" if row.active else "inactif"
            print(printable(f"{row.id}\t{row.structure_id}\t{state}\t{row.name}\t{row.scopes}"))
        return 0

    return with_hub(body)


def run_disable(args: argparse.Namespace) -> int:
    async def body(hub: Hub) -> int:
        async with hub.db.session() as session, session.begin():
            client = await session.get(ApiClient, args.client_id)
            if client is None:
                return fail(f"aucun client d'identifiant {args.client_id}")
            client.active = False
            await hub.audit.record(session, actor=Actor("cli", "cli"), action="update", entity_type="ApiClient",
                                   entity_id=client.id, detail="disabled")
        print(f"Client {args.client_id} désactivé.")
        return 0

    return with_hub(body)
