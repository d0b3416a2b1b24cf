"""Benchmark: `guichet directory import` of 30,000 member employers and 300 practitioners.

Prints the first import and the re-import (update in place), and in the same run two baselines on the same
machine and database: reading the CSV files alone, and a bare SQLAlchemy Core executemany of the same employer
rows into an empty table. Usage:

    .venv/bin/python bench/import_bench.py [--employers 30000] [--practitioners 300] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from hub.config import load_settings
from hub.core import Hub
from hub.crypto.keystore import KeyStore
from hub.directory.importer import import_directory
from hub.identifiers import with_luhn_key
from hub.store.db import Database
from hub.store.migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import scratch_database  # noqa: E402


def write_directory(folder: Path, employers: int, practitioners: int) -> None:
    rng = random.Random(42)
    teams = [f"T{i:03d}" for i in range(60)]
    with (folder / "centres.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "commune_insee"])
        w.writerows([[f"C{i:02d}", f"Centre {i}", f"44{100 + i:03d}"] for i in range(12)])
    with (folder / "teams.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "centre", "name", "kind"])
        w.writerows([[t, f"C{i % 12:02d}", f"Équipe {t}", "standard"] for i, t in enumerate(teams)])
    rpps = [with_luhn_key(f"1{i:09d}") for i in range(1, practitioners + 1)]
    with (folder / "practitioners.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["rpps", "family_name", "given_name", "email", "role", "team", "absent_until", "delegate_rpps"])
        for i, r in enumerate(rpps):
            w.writerow(
                [
                    r,
                    f"Nom{i}",
                    f"Prénom{i}",
                    f"p{i}@spsti.example",
                    "mdt" if i % 3 else "idest",
                    teams[i % len(teams)],
                    "2030-01-01" if i % 17 == 0 else "",
                    rpps[i - 1] if i % 17 == 0 else "",
                ]
            )
    with (folder / "employers.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["siret", "name", "naf", "postcode", "commune_insee", "team", "physician_rpps"])
        for i in range(employers):
            siret = with_luhn_key(f"{100000000 + i * 7:09d}0001")
            w.writerow(
                [
                    siret,
                    f"Entreprise {rng.randint(0, 10**6)} {i}",
                    "4711D",
                    "44000",
                    f"44{rng.randint(1, 200):03d}",
                    teams[i % len(teams)],
                    rpps[(i * 3) % len(rpps)],
                ]
            )


async def bare_insert(url: str, schema: str | None, folder: Path) -> float:
    db = Database(url, schema=schema)
    table = Table(
        "bench_employers",
        MetaData(),
        Column("id", Integer, primary_key=True),
        *[Column(c, String(200)) for c in ("siret", "name", "naf", "postcode", "commune_insee")],
    )
    with (folder / "employers.csv").open(newline="") as fh:
        rows = [{k: r[k] for k in ("siret", "name", "naf", "postcode", "commune_insee")} for r in csv.DictReader(fh)]
    async with db.engine.begin() as conn:
        await conn.run_sync(table.metadata.drop_all)
        await conn.run_sync(table.metadata.create_all)
    started = time.perf_counter()
    async with db.engine.begin() as conn:
        for i in range(0, len(rows), 2000):
            await conn.execute(insert(table), rows[i : i + 2000])
    elapsed = time.perf_counter() - started
    async with db.engine.begin() as conn:
        await conn.run_sync(table.metadata.drop_all)
    await db.dispose()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employers", type=int, default=30000)
    parser.add_argument("--practitioners", type=int, default=300)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        folder = base / "csv"
        folder.mkdir()
        write_directory(folder, args.employers, args.practitioners)
        async with scratch_database(args.database_url, base) as (url, schema):
            first, again, read_only, parsed, report, bare = await run(base, folder, url, schema)
    backend = url.split(":", 1)[0]
    print(f"database: {backend}; {args.employers} employers, {args.practitioners} practitioners")
    print(f"first import : {first:6.2f} s  ({report.created})")
    print(f"re-import    : {again:6.2f} s  (update in place)")
    print(f"baseline CSV read of {parsed} employer lines : {read_only:6.3f} s")
    print(
        f"baseline bare executemany of the employer rows: {bare:6.2f} s  -> import / bare insert = {first / bare:4.1f}x"
    )


async def run(base: Path, folder: Path, url: str, schema: str | None) -> tuple[float, float, float, int, Any, float]:
    settings = load_settings(
        {"GUICHET_HOME": str(base), "GUICHET_DATABASE_URL": url, "GUICHET_CONFIG": str(base / "none.toml")}
    ).with_(database_schema=schema)
    KeyStore(settings.keys_dir).initialise()
    hub = Hub.open(settings)
    await upgrade(hub.db)
    started = time.perf_counter()
    with (folder / "employers.csv").open(newline="") as fh:
        parsed = sum(1 for _ in csv.DictReader(fh))
    read_only = time.perf_counter() - started

    started = time.perf_counter()
    report = await import_directory(hub, folder)
    first = time.perf_counter() - started
    assert not report.errors, report.errors[:3]
    started = time.perf_counter()
    await import_directory(hub, folder)
    again = time.perf_counter() - started
    await hub.close()
    bare = await bare_insert(url, schema, folder)
    return first, again, read_only, parsed, report, bare


if __name__ == "__main__":
    asyncio.run(main())
