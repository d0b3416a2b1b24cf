"""Directory import/export: validation with file and line, all-or-nothing per file, idempotent re-import."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, select

from hub.core import Hub
from hub.demo import EXAMPLE_DIRECTORY
from hub.directory.exporter import export_directory
from hub.directory.importer import import_directory
from hub.store.models import Employer, Practitioner, StructureCommune, Team


async def count(hub: Hub, model: type) -> int:
    async with hub.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_example_imports_then_reimport_updates_in_place(hub: Hub) -> None:
    first = await import_directory(hub, EXAMPLE_DIRECTORY)
    assert first.errors == []
    assert first.created == {"centres": 2, "teams": 6, "practitioners": 12, "employers": 7, "structures": 2}
    second = await import_directory(hub, EXAMPLE_DIRECTORY)
    assert second.created == {k: 0 for k in first.created}
    assert second.updated == first.created
    assert await count(hub, Employer) == 7 and await count(hub, StructureCommune) == 9
    async with hub.db.session() as session:
        moreau = (await session.execute(select(Practitioner).where(Practitioner.rpps == "10000000025"))).scalar_one()
        legoff = (await session.execute(select(Practitioner).where(Practitioner.rpps == "10000000017"))).scalar_one()
        assert moreau.delegate_id == legoff.id and str(moreau.absent_until) == "2027-01-15"


async def test_changed_line_is_updated(hub: Hub, tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    shutil.copytree(EXAMPLE_DIRECTORY, folder)
    await import_directory(hub, folder)
    text = (folder / "employers.csv").read_text().replace("Boulangerie du Port", "Boulangerie du Quai")
    (folder / "employers.csv").write_text(text)
    report = await import_directory(hub, folder)
    assert report.errors == []
    async with hub.db.session() as session:
        names = set((await session.execute(select(Employer.name))).scalars())
    assert "Boulangerie du Quai" in names and "Boulangerie du Port" not in names


async def test_bad_lines_are_reported_and_file_not_applied(hub: Hub, tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    shutil.copytree(EXAMPLE_DIRECTORY, folder)
    with (folder / "employers.csv").open("a") as fh:
        fh.write("04423065100019,Clé fausse,1071C,44000,44109,NTS-E1,\n")  # Luhn key wrong
        fh.write("1234,Trop court,1071C,44000,44109,NTS-E1,\n")
        fh.write("01234567800010,Équipe inconnue,1071C,44000,44109,NOPE,\n")
    report = await import_directory(hub, folder)
    reasons = {(e.file, e.line): e.reason for e in report.errors}
    assert set(reasons) == {("employers.csv", 9), ("employers.csv", 10), ("employers.csv", 11)}
    assert "Luhn" in reasons[("employers.csv", 9)]
    assert "14 digits" in reasons[("employers.csv", 10)]
    assert "NOPE" in reasons[("employers.csv", 11)]
    assert report.skipped_files == ["employers.csv"]
    assert await count(hub, Employer) == 0
    assert await count(hub, Team) == 6 and await count(hub, Practitioner) == 12  # files without errors applied

    partial = await import_directory(hub, folder, skip_invalid=True)
    assert len(partial.errors) == 3 and partial.skipped_files == []
    assert await count(hub, Employer) == 7


async def test_bad_practitioner_and_its_dependants_are_reported(hub: Hub, tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    shutil.copytree(EXAMPLE_DIRECTORY, folder)
    with (folder / "practitioners.csv").open("a") as fh:
        fh.write("10000000018,Faux,Rpps,,mdt,NTS-E1,,\n")
        fh.write("10000000132,Sans,Rôle,,chirurgien,NTS-E1,,\n")
        fh.write("10000000140,Mauvaise,Date,,mdt,NTS-E1,15/01/2027,\n")
    report = await import_directory(hub, folder)
    practitioner_errors = [(e.line, e.reason) for e in report.errors if e.file == "practitioners.csv"]
    assert [line for line, _ in practitioner_errors] == [14, 15, 16]
    assert "RPPS" in practitioner_errors[0][1] and "chirurgien" in practitioner_errors[1][1]
    assert "YYYY-MM-DD" in practitioner_errors[2][1]
    # employers naming physicians of the rejected file are refused too, line by line
    assert any(e.file == "employers.csv" and "physician_rpps" in e.reason for e in report.errors)
    assert await count(hub, Practitioner) == 0


async def test_export_round_trips(hub: Hub, tmp_path: Path) -> None:
    await import_directory(hub, EXAMPLE_DIRECTORY)
    counts = await export_directory(hub, tmp_path / "out")
    assert counts == {"centres": 2, "teams": 6, "practitioners": 12, "employers": 7, "structures": 2}
    for name in counts:
        original = (EXAMPLE_DIRECTORY / f"{name}.csv").read_text().splitlines()
        exported = (tmp_path / "out" / f"{name}.csv").read_text().splitlines()
        assert sorted(original) == sorted(exported), name
