"""The ``guichet`` command. Each sub-command lives in its own module with ``register(subparsers)``.

Help texts are in French: they are read by the SPSTI's IT administrators.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from hub.cli import (
    audit_cmd,
    clients_cmd,
    directory_cmd,
    init_cmd,
    keys_cmd,
    migrate_cmd,
    outbox_cmd,
    routing_cmd,
    serve_cmd,
    users_cmd,
)
from hub.cli.common import fail
from hub.hygiene import configure_logging, private_files
from hub.settings_check import SettingError

COMMANDS = (init_cmd, serve_cmd, migrate_cmd, directory_cmd, users_cmd, clients_cmd, keys_cmd, audit_cmd,
            routing_cmd, outbox_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guichet",
        description="Guichet unique SPSTI ↔ soins primaires : messagerie sécurisée entre le service de "
                    "prévention et de santé au travail, les médecins traitants, les CPTS et les DAC.",
        epilog="Réglages par variables d'environnement (GUICHET_HOME, GUICHET_DATABASE_URL, GUICHET_KEYS_DIR, "
               "GUICHET_HTTP_HOST/PORT, GUICHET_SMTP_HOST/PORT, GUICHET_ADDRESS, GUICHET_SMTP_RELAY, "
               "GUICHET_TLS_CERT/KEY) ou fichier guichet.toml. Voir le README.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="journal détaillé")
    sub = parser.add_subparsers(dest="command", metavar="COMMANDE", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    private_files()  # database, WAL, checkpoints, exports: owner-only (hub.hygiene)
    configure_logging(args.verbose)
    try:
        code: int = args.func(args)
    except SettingError as exc:
        return fail(str(exc))
    except ValueError as exc:  # a setting that does not parse (GUICHET_HTTP_PORT=abc…)
        logging.getLogger(__name__).debug("setting error", exc_info=True)
        return fail(f"réglage invalide : {exc}")
    except KeyboardInterrupt:
        return fail("interrompu", 130)
    except Exception as exc:  # noqa: BLE001 - a command failure is a French line, never a traceback
        logging.getLogger(__name__).debug("command failed", exc_info=True)
        return fail(f"la commande a échoué ({type(exc).__name__}) ; relancez avec -v pour le détail")
    return code


if __name__ == "__main__":
    sys.exit(main())
