"""``guichet migrate``."""

from __future__ import annotations

import argparse
from typing import Any

from hub.cli.common import with_hub
from hub.core import Hub
from hub.store.migrate import current_revisions, upgrade
from hub.store.routing_text import seal_legacy


def register(sub: Any) -> None:
    p = sub.add_parser("migrate", help="mettre à jour le schéma de la base de données",
                       description="Applique les migrations Alembic jusqu'à la dernière version. Sans risque à "
                                   "relancer ; à faire après chaque mise à jour du logiciel.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    async def body(hub: Hub) -> int:
        await upgrade(hub.db)
        await seal_legacy(hub.db, hub.sealer)  # routing text written before revision 0003_protect
        print(f"Schéma à jour (révision {', '.join(sorted(await current_revisions(hub.db)))}).")
        return 0

    return with_hub(body)
