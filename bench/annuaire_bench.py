"""Benchmark: `guichet directory import-annuaire` of a 100,000-line Annuaire Santé extraction (31 columns, like
the ANS file) against a directory of 5,000 practitioners, part of them in the extraction (the run prints how many
were updated and how many RPPS of the extraction the directory does not know).

Prints the first import (every matched practitioner updated), the re-import (nothing changes), and in the same run
the baseline: reading and splitting the same file alone. Target: 100,000 lines in under 30 s. Usage:

    .venv/bin/python bench/annuaire_bench.py [--lines 100000] [--practitioners 5000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from hub.config import load_settings
from hub.core import Hub
from hub.crypto.keystore import KeyStore
from hub.directory.annuaire import import_annuaire
from hub.identifiers import with_luhn_key
from hub.store.migrate import upgrade
from hub.store.models import Practitioner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import scratch_database  # noqa: E402

HEADER = ("Type de BAL|Adresse BAL|Type Identifiant PP|Identifiant PP|Identification nationale PP|"
          "Type identifiant structure|Identification Structure|Service de rattachement|Civilité d'exercice|"
          "Nom d'exercice|Prénom d'exercice|Catégorie profession|Libellé de catégorie profession|Code Profession|"
          "Libellé Profession|Code savoir-faire|Libellé savoir-faire|Dématérialisation|Raison Sociale structure BAL|"
          "Enseigne commerciale structure BAL|L2COMPLEMENTLOCALISATION|L3COMPLEMENTDISTRIBUTION|L4NUMEROVOIE|"
          "L4COMPLEMENTNUMEROVOIE|NL4TYPEVOIE|L4LIBELLEVOIE|L5LIEUDITMENTION|L6LIGNEACHEMINEMENT|Code postal|"
          "Département|Pays")


def rpps(i: int) -> str:
    return with_luhn_key(f"1{i:09d}")


def write_extraction(path: Path, lines: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(HEADER + "\n")
        for i in range(1, lines + 1):
            if i % 10 == 0:  # organisational boxes
                fh.write(f"ORG|secretariat{i}@ch.mssante.fr||||FINESS|44000{i:04d}|Service {i}|||||||||||O|"
                         f"Hôpital {i}||||{i}||R|de la Santé||44000 NANTES|44000|44|France\n")
                continue
            r = rpps(i)
            fh.write(f"PER|praticien{i}@medecin.mssante.fr|8|{r}|8{r}||||DR|NOM{i}|Prénom{i}|C|Civil|10|Médecin|"
                     f"SM54|Médecine générale|O|Cabinet {i}||||{i % 90}||R|des Lilas||44000 NANTES|44000|44|France\n")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--practitioners", type=int, default=5000)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        extraction = base / "Extraction_Correspondance_MSSante_bench.txt"
        write_extraction(extraction, args.lines)
        started = time.perf_counter()
        with extraction.open(encoding="utf-8") as fh:
            split = sum(len(line.split("|")) > 3 for line in fh)
        baseline = time.perf_counter() - started
        async with scratch_database(args.database_url, base) as (url, schema):
            settings = load_settings({"GUICHET_HOME": str(base), "GUICHET_DATABASE_URL": url,
                                      "GUICHET_CONFIG": str(base / "none.toml")}).with_(database_schema=schema)
            KeyStore(settings.keys_dir).initialise()
            hub = Hub.open(settings)
            await upgrade(hub.db)
            # one practitioner in five has an RPPS past the extraction's; some others fall on organisational lines
            async with hub.db.session() as session, session.begin():
                await session.execute(insert(Practitioner), [
                    {"rpps": rpps(i * 25 // 20 if i % 5 else args.lines + i), "family_name": f"NOM{i}",
                     "given_name": "", "role": "gp"} for i in range(1, args.practitioners + 1)])
            started = time.perf_counter()
            first = await import_annuaire(hub, extraction)
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            again = await import_annuaire(hub, extraction)
            again_s = time.perf_counter() - started
            await hub.close()
    print(f"database: {url.split(':', 1)[0]}; {args.lines} lines, {args.practitioners} practitioners")
    print(f"first import : {first_s:6.2f} s  ({first.updated} updated, {first.unknown_rpps} unknown RPPS, "
          f"{first.other_boxes} other boxes)")
    print(f"re-import    : {again_s:6.2f} s  ({again.updated} updated, {again.unchanged} unchanged)")
    print(f"baseline read+split of {split} lines: {baseline:6.3f} s -> import / baseline = {first_s / baseline:4.1f}x")
    print(f"target: {args.lines} lines in under 30 s -> {'met' if first_s < 30 else 'MISSED'}")


if __name__ == "__main__":
    asyncio.run(main())
