"""``guichet outbox list [--dead]`` and ``guichet outbox retry ID|--all-dead``: the delivery queue for administrators.

Lists show no message content (it is encrypted and may hold health data): id, purpose, status, attempts, dates,
thread reference and the last error. The default list also shows rows ``held`` because the worker withdrew consent
before they left (``hub.consent.outbound``; last error ``consent``): those are final, ``retry`` leaves them alone —
the physician sends again once the worker's consent is recorded. ``retry`` puts dead letters back in the queue
(attempts reset) for the worker to deliver at once.
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select

from hub.audit import Actor
from hub.bounces import printable
from hub.cli.common import fail, with_hub
from hub.core import Hub
from hub.store.models import OutboxItem, Thread, utcnow


def register(sub: Any) -> None:
    p = sub.add_parser("outbox", help="file d'envoi des courriels (échecs, relance)",
                       description="Consulter la file d'envoi et relancer les envois en échec définitif "
                                   "(« lettres mortes ») après avoir corrigé la cause (relais, adresse).")
    verbs = p.add_subparsers(dest="verb", metavar="ACTION", required=True)
    lst = verbs.add_parser("list", help="lister les envois (par défaut : en attente, en échec et retenus faute de "
                                        "consentement)")
    lst.add_argument("--dead", action="store_true", help="seulement les envois en échec définitif")
    lst.add_argument("--limit", type=int, default=100, help="nombre maximal de lignes (défaut : 100)")
    lst.set_defaults(func=run_list)
    retry = verbs.add_parser("retry", help="relancer un envoi en échec (ou tous avec --all-dead)")
    retry.add_argument("id", nargs="?", help="identifiant de l'envoi (colonne 1 de `guichet outbox list`)")
    retry.add_argument("--all-dead", action="store_true", help="relancer tous les envois en échec définitif")
    retry.set_defaults(func=run_retry)


def run_list(args: argparse.Namespace) -> int:
    async def body(hub: Hub) -> int:
        statuses = ["dead"] if args.dead else ["pending", "dead", "held"]
        async with hub.db.session() as session:
            rows = (await session.execute(
                select(OutboxItem, Thread.reference).outerjoin(Thread, Thread.id == OutboxItem.thread_id)
                .where(OutboxItem.status.in_(statuses)).order_by(OutboxItem.created_at)
                .limit(args.limit))).all()
        if not rows:
            print("Aucun envoi en échec." if args.dead else "File d'envoi vide.")
            return 0
        print("id\tobjet\tétat\ttentatives\tcréé le\tréférence\tdernière erreur")
        for item, reference in rows:
            print(f"{item.id}\t{item.purpose}\t{item.status}\t{item.attempts}\t"
                  f"{item.created_at:%Y-%m-%d %H:%M}\t{reference or '-'}\t{printable(item.last_error or '')}")
        return 0

    return with_hub(body)


def run_retry(args: argparse.Namespace) -> int:
    if not args.id and not args.all_dead:
        return fail("indiquez l'identifiant d'un envoi ou --all-dead", 2)

    async def body(hub: Hub) -> int:
        async with hub.db.session() as session, session.begin():
            query = select(OutboxItem).where(OutboxItem.status == "dead")
            if args.id:
                query = query.where(OutboxItem.id == args.id)
            items = list((await session.execute(query)).scalars())
            if args.id and not items:
                return fail(f"aucun envoi en échec avec l'identifiant {args.id}")
            for item in items:
                item.status, item.attempts, item.next_attempt_at = "pending", 0, utcnow()
                await hub.audit.record(session, actor=Actor("cli", "cli"), action="retry",
                                       entity_type="OutboxItem", entity_id=item.id)
        print(f"{len(items)} envoi(s) remis en file d'attente.")
        return 0

    return with_hub(body)
