"""``guichet directory import``: load a folder of CSV files into the directory, idempotently.

Contract: ``await import_directory(hub, path, skip_invalid=False, progress=False)`` reads, in dependency order,
``centres.csv``, ``teams.csv``, ``practitioners.csv``, ``employers.csv``, ``structures.csv`` (each optional).
Every line is checked first; each bad line becomes an :class:`ImportError_` (file, line, reason). A file with
an error is not applied at all unless ``skip_invalid``, which applies its valid lines. Re-importing updates
rows in place by their natural key (code, RPPS, SIRET, id). Returns an :class:`ImportReport`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import Actor
from hub.crypto.lookup import normalise_text
from hub.directory.rows import FILES, RowError, parse_row
from hub.store.models import Centre, Employer, Practitioner, Structure, StructureCommune, Team

if TYPE_CHECKING:
    from hub.core import Hub

BATCH = 2000


@dataclass(frozen=True)
class ImportError_:  # noqa: N801 - not the builtin
    file: str
    line: int
    reason: str


@dataclass
class ImportReport:
    errors: list[ImportError_] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    skipped_files: list[str] = field(default_factory=list)

    def summary_fr(self) -> str:
        parts = [f"{name} : {self.created.get(name, 0)} créé(s), {self.updated.get(name, 0)} mis à jour"
                 for name in FILES if name in self.created or name in self.updated]
        text = "Import de l'annuaire — " + ("; ".join(parts) if parts else "rien à importer")
        if self.errors:
            text += f". {len(self.errors)} ligne(s) en erreur"
        if self.skipped_files:
            text += ". Fichier(s) non appliqué(s) à cause d'erreurs : " + ", ".join(self.skipped_files)
        return text


def _read(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for number, row in enumerate(csv.DictReader(fh), start=2):
            yield number, {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}


async def import_directory(hub: Hub, path: Path, skip_invalid: bool = False, progress: bool = False
                           ) -> ImportReport:
    report = ImportReport()
    async with hub.db.session() as session, session.begin():
        for name in FILES:
            file = path / f"{name}.csv"
            if not file.exists():
                continue
            refs = await _References.load(session)
            rows: list[dict[str, Any]] = []
            file_errors = 0
            lines = list(_read(file))
            bar = _progress(len(lines), name) if progress else None
            seen: set[str] = set()
            for number, raw in lines:
                try:
                    row = parse_row(name, raw, refs.as_lookup())
                    key = str(row["_key"])
                    if key in seen:
                        raise RowError(f"duplicate key {key} in this file")
                    seen.add(key)
                    rows.append(row)
                except RowError as exc:
                    file_errors += 1
                    report.errors.append(ImportError_(file.name, number, str(exc)))
                if bar is not None:
                    bar.update(1)
            if bar is not None:
                bar.close()
            if file_errors and not skip_invalid:
                report.skipped_files.append(file.name)
                continue
            created, updated = await _apply(session, name, rows, refs)
            report.created[name], report.updated[name] = created, updated
        await hub.audit.record(session, actor=Actor("cli", "cli"), action="import", entity_type="Directory",
                               detail=report.summary_fr()[:300])
    hub.directory.invalidate()  # this process's cached senders (other processes forget theirs within a minute)
    return report


def _progress(total: int, name: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=name, unit=" lignes")


@dataclass
class _References:
    centres: dict[str, int]
    teams: dict[str, int]
    practitioners: dict[str, int]
    employers: dict[str, int]
    structures: set[str]

    @classmethod
    async def load(cls, session: AsyncSession) -> _References:
        def pairs(rows: Any) -> dict[str, int]:
            return {k: v for k, v in rows.all()}

        return cls(
            centres=pairs(await session.execute(select(Centre.code, Centre.id))),
            teams=pairs(await session.execute(select(Team.code, Team.id))),
            practitioners=pairs(await session.execute(select(Practitioner.rpps, Practitioner.id))),
            employers=pairs(await session.execute(select(Employer.siret, Employer.id))),
            structures=set((await session.execute(select(Structure.id))).scalars()),
        )

    def as_lookup(self) -> dict[str, Any]:
        return {"centre": self.centres, "team": self.teams, "practitioner": self.practitioners}


async def _apply(session: AsyncSession, name: str, rows: list[dict[str, Any]], refs: _References
                 ) -> tuple[int, int]:
    table: dict[str, tuple[Any, dict[str, Any], str]] = {
        "centres": (Centre, refs.centres, "code"),
        "teams": (Team, refs.teams, "code"),
        "practitioners": (Practitioner, refs.practitioners, "rpps"),
        "employers": (Employer, refs.employers, "siret"),
        "structures": (Structure, {s: s for s in refs.structures}, "id"),
    }
    model, existing, _ = table[name]
    delegates: list[tuple[str, str]] = []
    new_rows: list[dict[str, Any]] = []
    changed_rows: list[dict[str, Any]] = []
    for row in rows:
        values = {k: v for k, v in row.items() if not k.startswith("_")}
        if name == "practitioners":
            if row.get("_delegate_rpps"):
                delegates.append((row["rpps"], row["_delegate_rpps"]))
            values["delegate_id"] = None
        if name == "employers":
            values["name_key"] = normalise_text(values["name"])
            values.setdefault("active", True)
        if row["_key"] in existing:
            if name != "structures":
                values["id"] = existing[row["_key"]]
            changed_rows.append(values)
        else:
            new_rows.append(values)
    for start in range(0, len(new_rows), BATCH):
        await session.execute(insert(model), new_rows[start:start + BATCH])
    if changed_rows:
        if name == "structures":
            for values in changed_rows:
                await session.execute(update(Structure).where(Structure.id == values["id"]).values(**values))
        else:
            for start in range(0, len(changed_rows), BATCH):
                await session.execute(update(model), changed_rows[start:start + BATCH])
    if name == "structures":
        ids = [r["id"] for r in rows]
        await session.execute(delete(StructureCommune).where(StructureCommune.structure_id.in_(ids)))
        links = [{"structure_id": r["id"], "commune_insee": c} for r in rows for c in r["_communes"]]
        if links:
            await session.execute(insert(StructureCommune), links)
    if delegates:
        by_rpps = {k: v for k, v in (await session.execute(select(Practitioner.rpps, Practitioner.id))).all()}
        await session.execute(update(Practitioner), [
            {"id": by_rpps[rpps], "delegate_id": by_rpps[delegate]} for rpps, delegate in delegates
            if delegate in by_rpps and rpps in by_rpps])
    return len(new_rows), len(changed_rows)


def parse_date(value: str) -> date:
    return date.fromisoformat(value)
