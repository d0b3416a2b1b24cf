"""``guichet directory import PATH``, ``import-annuaire FILE`` and ``export PATH``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hub.bounces import printable
from hub.cli.common import fail, with_hub
from hub.core import Hub


def register(sub: Any) -> None:
    p = sub.add_parser("directory", help="annuaire : centres, équipes, praticiens, adhérents, CPTS/DAC")
    verbs = p.add_subparsers(dest="verb", metavar="ACTION", required=True)
    imp = verbs.add_parser(
        "import", help="importer un dossier de fichiers CSV",
        description="Importe (ou met à jour) l'annuaire depuis un dossier de fichiers CSV UTF-8 avec ligne "
                    "d'en-tête : centres.csv, teams.csv, practitioners.csv, employers.csv, structures.csv "
                    "(voir le README et l'exemple schemas/directory/). Les SIRET et RPPS sont contrôlés "
                    "(longueur, clé de Luhn). Chaque ligne fautive est signalée avec son fichier, son numéro "
                    "de ligne et la raison ; un fichier contenant une erreur n'est pas appliqué, sauf avec "
                    "--skip-invalid. Réimporter met à jour sans doublon.")
    imp.add_argument("path", type=Path, help="dossier contenant les fichiers CSV")
    imp.add_argument("--skip-invalid", action="store_true",
                     help="appliquer les lignes valides et ignorer les lignes fautives")
    imp.set_defaults(func=run_import)
    ann = verbs.add_parser(
        "import-annuaire", help="renseigner les adresses MSSanté depuis l'extraction de l'Annuaire Santé",
        description="Lit l'extraction publique des boîtes aux lettres MSSanté de l'Annuaire Santé "
                    "(Extraction_Correspondance_MSSante_*.txt, séparateur « | », voir schemas/annuaire/ ; ou "
                    "l'archive .zip telle que l'ANS la publie) et "
                    "renseigne l'adresse MSSanté des praticiens de l'annuaire par leur RPPS. Les RPPS inconnus "
                    "sont comptés, jamais créés. Une adresse donnée par une extraction précédente et absente de "
                    "celle-ci est retirée (la boîte a été fermée) ; une adresse venue de practitioners.csv est "
                    "gardée.")
    ann.add_argument("file", type=Path, help="le fichier d'extraction (texte, ou archive .zip)")
    ann.add_argument("--keep-missing", action="store_true",
                     help="fichier partiel : garder les adresses des praticiens absents du fichier")
    ann.set_defaults(func=run_import_annuaire)
    exp = verbs.add_parser("export", help="exporter l'annuaire en fichiers CSV (même format que l'import)")
    exp.add_argument("path", type=Path, help="dossier de destination (créé au besoin)")
    exp.set_defaults(func=run_export)


def run_import(args: argparse.Namespace) -> int:
    from hub.directory.importer import import_directory

    if not args.path.is_dir():
        return fail(f"{args.path} n'est pas un dossier")

    async def body(hub: Hub) -> int:
        report = await import_directory(hub, args.path, skip_invalid=args.skip_invalid,
                                        progress=sys.stderr.isatty())
        for error in report.errors:
            print(printable(f"{error.file}:{error.line}: {error.reason}"), file=sys.stderr)
        print(report.summary_fr())
        return 1 if report.errors and not args.skip_invalid else 0

    return with_hub(body)


def run_import_annuaire(args: argparse.Namespace) -> int:
    from hub.directory.annuaire import AnnuaireFormatError, import_annuaire

    if not args.file.is_file():
        return fail(f"{args.file} n'est pas un fichier")

    async def body(hub: Hub) -> int:
        try:
            report = await import_annuaire(hub, args.file, progress=sys.stderr.isatty(),
                                           keep_missing=args.keep_missing)
        except AnnuaireFormatError as exc:
            return fail(f"{args.file} : {exc}")
        print(report.summary_fr())
        return 0

    return with_hub(body)


def run_export(args: argparse.Namespace) -> int:
    from hub.directory.exporter import export_directory

    async def body(hub: Hub) -> int:
        counts = await export_directory(hub, args.path)
        print("Annuaire exporté : " + ", ".join(f"{name} {n}" for name, n in counts.items()))
        return 0

    return with_hub(body)
