"""``guichet serve [--role api,smtp,worker]``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from hub.cli.common import fail, settings
from hub.config import PROCESS_ROLES as ROLES
from hub.core import Hub
from hub.crypto.keystore import KeyStoreError
from hub.rights import RightsConfigError
from hub.settings_check import SettingError
from hub.store.migrate import is_current


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="lancer le service (web, API, SMTP, envois)",
                       description="Lance le serveur HTTP (boîte de réception, API FHIR, formulaires), la "
                                   "réception SMTP et l'envoi des courriels en file d'attente. Plusieurs "
                                   "processus peuvent se partager le travail sur une même base PostgreSQL.")
    p.add_argument("--role", default=",".join(ROLES),
                   help="rôles de ce processus, séparés par des virgules : api, smtp, worker, mssante (défaut : tous)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    roles = [r.strip() for r in args.role.split(",") if r.strip()]
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        return fail(f"rôle inconnu : {', '.join(unknown)} (attendus : {', '.join(ROLES)})", 2)

    async def main() -> int:
        from hub.plugins import load_connectors  # the web app and the connectors: only when serving
        from hub.server import serve_forever

        try:
            hub = Hub.open(settings())
        except KeyStoreError as exc:
            return fail(f"{exc} (lancez d'abord `guichet init`)")
        except RightsConfigError as exc:
            return fail(str(exc), 2)
        if not await is_current(hub.db):
            await hub.close()
            return fail("le schéma de la base n'est pas à jour : lancez `guichet migrate`")
        if hub.db.is_postgres and not hub.settings.public_url:
            print("Attention : GUICHET_PUBLIC_URL n'est pas défini. Avec plusieurs instances, donnez-leur la même "
                  "adresse publique : sinon un jeton d'accès émis par l'une est refusé par les autres.",
                  file=sys.stderr, flush=True)
        try:
            await serve_forever(hub, load_connectors(), roles)
        except SettingError as exc:
            await hub.close()
            return fail(str(exc))
        return 0

    return asyncio.run(main())
