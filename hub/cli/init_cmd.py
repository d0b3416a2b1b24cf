"""``guichet init [--demo]``."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from hub.cli.common import settings
from hub.core import Hub
from hub.crypto.keystore import KeyStore
from hub.hygiene import private_dir
from hub.store.migrate import upgrade
from hub.store.routing_text import seal_legacy


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="préparer une installation (dossier de données, clés, base)",
                       description="Crée le dossier de données (GUICHET_HOME), génère les clés dans le magasin "
                                   "de clés (GUICHET_KEYS_DIR) si elles n'existent pas, puis crée ou met à jour "
                                   "la base. Sans risque à relancer : les clés existantes sont conservées.")
    p.add_argument("--demo", action="store_true",
                   help="charger un SPSTI de démonstration (annuaire, comptes, quelques demandes) et afficher "
                        "les identifiants de connexion")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    conf = settings()
    private_dir(conf.home)
    created = KeyStore(conf.keys_dir).initialise()
    print(f"Dossier de données : {conf.home}")
    print(f"Magasin de clés : {conf.keys_dir} ({'clés générées' if created else 'clés existantes conservées'})")

    async def main() -> int:
        hub = Hub.open(conf)
        try:
            await upgrade(hub.db)
            await seal_legacy(hub.db, hub.sealer)  # routing text written before revision 0003_protect
            print("Base de données prête.")
            if args.demo:
                from hub.demo import DEMO_PASSWORD, load_demo

                logins = await load_demo(hub)
                print("\nSPSTI de démonstration chargé. Comptes (mot de passe : "
                      f"{DEMO_PASSWORD}) :")
                for login in logins:
                    print(f"  {login.email:32} {login.role:12} {login.who}")
                print("\nSecond facteur : à la première connexion d'un compte soignant ou de coordination, "
                      "laissez le champ « Code de vérification » vide ; un code QR s'affiche, à scanner avec une "
                      "application d'authentification (FreeOTP, Aegis, Google Authenticator…), puis saisissez le "
                      "code qu'elle affiche. Sans téléphone : `guichet users mfa-reset ADRESSE` affiche l'URI "
                      "otpauth:// à ajouter à l'application.")
                print(f"\nBoîte de réception : {conf.base_url}/inbox")
                print(f"Saisine de la cellule PDP : {conf.base_url}/saisine-pdp")
                print(f"Demande de visite de pré-reprise : {conf.base_url}/demande-pre-reprise")
                print(f"Adresse unique des médecins traitants : {conf.address} "
                      f"(SMTP {conf.smtp_host}:{conf.smtp_port})")
        finally:
            await hub.close()
        return 0

    return asyncio.run(main())
