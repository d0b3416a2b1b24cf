"""``guichet directory export``: write the directory as the same CSV files the import reads.

Contract: ``await export_directory(hub, folder)`` writes centres.csv, teams.csv, practitioners.csv,
employers.csv and structures.csv (UTF-8, header row) and returns the row count of each; importing the result
into an empty database gives the same directory.
"""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import aliased

from hub.directory.rows import COLUMNS, OPTIONAL
from hub.store.models import Centre, Employer, Practitioner, Structure, StructureCommune, Team

if TYPE_CHECKING:
    from hub.core import Hub


async def export_directory(hub: Hub, folder: Path) -> dict[str, int]:
    rows: dict[str, list[list[str]]] = {}
    delegate = aliased(Practitioner)
    async with hub.db.session() as session:
        rows["centres"] = [[c.code, c.name, c.commune_insee or ""] for c in
                           (await session.execute(select(Centre).order_by(Centre.code))).scalars()]
        rows["teams"] = [[t.code, code or "", t.name, t.kind] for t, code in (await session.execute(
            select(Team, Centre.code).outerjoin(Centre, Centre.id == Team.centre_id).order_by(Team.code))).all()]
        rows["practitioners"] = [
            [p.rpps, p.family_name, p.given_name, p.email or "", p.role, team or "",
             p.absent_until.isoformat() if p.absent_until else "", d_rpps or "", p.mssante or ""]
            for p, team, d_rpps in (await session.execute(
                select(Practitioner, Team.code, delegate.rpps)
                .outerjoin(Team, Team.id == Practitioner.team_id)
                .outerjoin(delegate, delegate.id == Practitioner.delegate_id)
                .order_by(Practitioner.rpps))).all()]
        rows["employers"] = [
            [e.siret, e.name, e.naf or "", e.postcode or "", e.commune_insee or "", team or "", rpps or ""]
            for e, team, rpps in (await session.execute(
                select(Employer, Team.code, Practitioner.rpps)
                .outerjoin(Team, Team.id == Employer.team_id)
                .outerjoin(Practitioner, Practitioner.id == Employer.physician_id)
                .where(Employer.active.is_(True)).order_by(Employer.siret))).all()]
        communes: dict[str, list[str]] = {}
        for link in (await session.execute(select(StructureCommune).order_by(StructureCommune.commune_insee))
                     ).scalars():
            communes.setdefault(link.structure_id, []).append(link.commune_insee)
        rows["structures"] = [[s.id, s.name, s.kind, "|".join(communes.get(s.id, []))] for s in
                              (await session.execute(select(Structure).order_by(Structure.id))).scalars()]
    await asyncio.to_thread(_write, folder, rows)
    return {name: len(data) for name, data in rows.items()}


def _write(folder: Path, rows: dict[str, list[list[str]]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in rows.items():
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS[name] + OPTIONAL.get(name, ()))
            writer.writerows(data)
