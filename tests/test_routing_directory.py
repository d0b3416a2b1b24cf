"""A directory full of routing traps, imported with the real importer; shared by the routing tests.

People and codes (all fictitious): team E1 has Dr Aubry (present), Dr Bodin (absent, delegate Dr Caron) and Dr
Caron (absent too, delegate Dr Aubry); team E2 has Dr Dupuis and Dr Etienne, absent and each the other's
delegate (a loop); the intérim teams INT (centre C1) and INT2 (centre C2); Dr Gaudin in S1 (absent, no
delegate); Dr Hamon with no team (absent, no delegate); two "Boulangerie Léon"; a closed member.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from sqlalchemy import select

from hub.core import Hub
from hub.directory.importer import import_directory
from hub.identifiers import with_luhn_key
from hub.store.models import Employer, Practitioner, Team

TODAY = date(2026, 12, 1)


def rpps(n: int) -> str:
    return with_luhn_key(f"2000000{n:03d}")


def siret(n: int) -> str:
    return with_luhn_key(f"9000000{n:06d}")


DOCTORS = {"aubry": rpps(1), "bodin": rpps(2), "caron": rpps(3), "dupuis": rpps(4), "etienne": rpps(5),
           "fabre": rpps(6), "gaudin": rpps(7), "hamon": rpps(8), "robin": rpps(9), "ibert": rpps(10)}
SIRETS = {"aubry-co": siret(1), "bodin-co": siret(2), "dupuis-co": siret(3), "closed": siret(4),
          "team-only": siret(5), "orphan": siret(6), "agency1": siret(7), "agency2": siret(8),
          "agency3": siret(9), "leon-nantes": siret(10), "leon-stn": siret(11), "forge": siret(12),
          "hamon-co": siret(13), "gaudin-co": siret(14), "newcomer": siret(15)}

CENTRES = [("C1", "Centre Nantes", "44109"), ("C2", "Centre Saint-Nazaire", "44184")]
TEAMS = [("E1", "C1", "Équipe E1", "standard"), ("E2", "C1", "Équipe E2", "standard"),
         ("INT", "C1", "Équipe intérim Nantes", "interim"), ("PDP", "C1", "Cellule PDP Nantes", "pdp"),
         ("TRI", "C1", "File de tri", "triage"), ("S1", "C2", "Équipe S1", "standard"),
         ("INT2", "C2", "Équipe intérim Saint-Nazaire", "interim"),
         ("PDP2", "C2", "Cellule PDP Saint-Nazaire", "pdp")]
# rpps key, family name, role, team, absent_until, delegate key
PRACTITIONERS = [
    ("aubry", "Aubry", "mdt", "E1", "", ""),
    ("bodin", "Bodin", "mdt", "E1", "2026-12-31", "caron"),
    ("caron", "Caron", "mdt", "E1", "2026-12-20", "aubry"),
    ("dupuis", "Dupuis", "mdt", "E2", "2027-02-01", "etienne"),
    ("etienne", "Etienne", "mdt", "E2", "2027-02-01", "dupuis"),
    ("fabre", "Fabre", "mdt", "INT", "", ""),
    ("gaudin", "Gaudin", "mdt", "S1", "2026-12-01", ""),
    ("hamon", "Hamon", "mdt", "", "2027-03-01", ""),
    ("robin", "Robin", "idest", "PDP", "", ""),
    ("ibert", "Ibert", "mdt", "INT2", "", ""),
]
# siret key, name, naf, postcode, commune, team, physician key
EMPLOYERS = [
    ("aubry-co", "Menuiserie Aubry", "1623Z", "44000", "44109", "E1", "aubry"),
    ("bodin-co", "Clinique Bodin", "8610Z", "44000", "44109", "E1", "bodin"),
    ("dupuis-co", "Dupuis Logistique", "5210B", "44000", "44109", "E2", "dupuis"),
    ("closed", "Conserverie Fermée", "1020Z", "44000", "44109", "E1", "aubry"),
    ("team-only", "Transports Sans Médecin", "4941A", "44800", "44162", "E2", ""),
    ("orphan", "Atelier Orphelin", "2511Z", "44000", "44109", "", ""),
    ("agency1", "Intérim Nantes", "78.20Z", "44000", "44109", "INT", "fabre"),
    ("agency2", "Intérim Côte", "7820Z", "44600", "44184", "S1", "gaudin"),
    ("agency3", "Intérim Sans Équipe", "7820Z", "44000", "44109", "", ""),
    ("leon-nantes", "Boulangerie Léon", "1071C", "44300", "44109", "E1", "aubry"),
    ("leon-stn", "Boulangerie Léon", "1071C", "44600", "44184", "S1", ""),
    ("forge", "Ancienne Forge", "2550A", "44000", "44109", "E1", "aubry"),
    ("hamon-co", "Cabinet Hamon", "6920Z", "44000", "44109", "", "hamon"),
    ("gaudin-co", "Chantier Gaudin", "3011Z", "44600", "44184", "S1", "gaudin"),
]
STRUCTURES = [("CPTS-T", "CPTS de test", "cpts", "44109|44184|44114"), ("DAC-T", "DAC de test", "dac", "44184")]
CLOSED = ("closed", "forge")  # former members: "non" in the optional active column of employers.csv


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def write_employers(folder: Path, entries: list[tuple[str, str, str, str, str, str, str]],
                    closed: tuple[str, ...] | None = None) -> None:
    """employers.csv; with ``closed``, the optional ``active`` column ("non" for those keys, empty otherwise)."""
    folder.mkdir(parents=True, exist_ok=True)
    header = ["siret", "name", "naf", "postcode", "commune_insee", "team", "physician_rpps"]
    rows = [[SIRETS[k], name, naf, pc, commune, team, DOCTORS[doc] if doc else ""]
            for k, name, naf, pc, commune, team, doc in entries]
    if closed is not None:
        header.append("active")
        rows = [row + ["non" if entry[0] in closed else ""] for row, entry in zip(rows, entries, strict=True)]
    write_csv(folder / "employers.csv", header, rows)


def write_directory(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "centres.csv", ["code", "name", "commune_insee"], [list(c) for c in CENTRES])
    write_csv(folder / "teams.csv", ["code", "centre", "name", "kind"], [list(t) for t in TEAMS])
    write_csv(folder / "practitioners.csv",
              ["rpps", "family_name", "given_name", "email", "role", "team", "absent_until", "delegate_rpps"],
              [[DOCTORS[k], family, "", f"{k}@spsti-test.fr", role, team, absent, DOCTORS[d] if d else ""]
               for k, family, role, team, absent, d in PRACTITIONERS])
    write_employers(folder, EMPLOYERS, closed=CLOSED)
    write_csv(folder / "structures.csv", ["id", "name", "kind", "communes"], [list(s) for s in STRUCTURES])
    return folder


async def load_tricky_directory(hub: Hub, tmp_path: Path) -> Ids:
    """Import the trap directory (former members included) and return its database ids."""
    report = await import_directory(hub, write_directory(tmp_path / "directory"))
    assert report.errors == [], report.errors
    return await Ids.load(hub)


class Ids:
    """Database ids by the keys used above: ``ids.doc["aubry"]``, ``ids.team["E1"]``, ``ids.emp["closed"]``."""

    def __init__(self, doc: dict[str, int], team: dict[str, int], emp: dict[str, int]) -> None:
        self.doc, self.team, self.emp = doc, team, emp

    @classmethod
    async def load(cls, hub: Hub) -> Ids:
        async with hub.db.session() as session:
            by_rpps = {r: i for r, i in (await session.execute(select(Practitioner.rpps, Practitioner.id))).all()}
            teams = {c: i for c, i in (await session.execute(select(Team.code, Team.id))).all()}
            by_siret = {s: i for s, i in (await session.execute(select(Employer.siret, Employer.id))).all()}
        return cls({k: by_rpps[v] for k, v in DOCTORS.items()}, teams,
                   {k: by_siret[v] for k, v in SIRETS.items() if v in by_siret})


async def test_the_trap_directory_imports_cleanly(hub: Hub, tmp_path: Path) -> None:
    ids = await load_tricky_directory(hub, tmp_path)
    async with hub.db.session() as session:
        caron = await session.get(Practitioner, ids.doc["caron"])
        closed = await session.get(Employer, ids.emp["closed"])
        agency = await session.get(Employer, ids.emp["agency1"])
    assert caron is not None and caron.delegate_id == ids.doc["aubry"]
    assert closed is not None and closed.active is False
    assert agency is not None and agency.naf == "7820Z"
    assert len(ids.emp) == len(EMPLOYERS)


def write_bad_active(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "employers.csv", ["siret", "name", "naf", "postcode", "commune_insee", "team",
                                         "physician_rpps", "active"],
              [[SIRETS["closed"], "Conserverie Fermée", "1020Z", "44000", "44109", "E1", "", "peut-être"]])
    return folder


async def test_active_column_is_optional_and_checked(hub: Hub, tmp_path: Path) -> None:
    ids = await load_tricky_directory(hub, tmp_path)
    async with hub.db.session() as session:
        flags = {s: a for s, a in (await session.execute(select(Employer.siret, Employer.active))).all()}
    assert {k for k, v in SIRETS.items() if v in flags and not flags[v]} == set(CLOSED)
    # a value that is neither yes nor no is refused, naming the line; nothing of that file is applied
    report = await import_directory(hub, write_bad_active(tmp_path / "bad"))
    assert [(e.file, e.line) for e in report.errors] == [("employers.csv", 2)]
    assert "active 'peut-être'" in report.errors[0].reason
    # without the column (the original format), every listed employer is a member (again)
    write_employers(tmp_path / "plain", [e for e in EMPLOYERS if e[0] == "closed"])
    assert (await import_directory(hub, tmp_path / "plain")).errors == []
    async with hub.db.session() as session:
        closed = await session.get(Employer, ids.emp["closed"])
    assert closed is not None and closed.active is True
