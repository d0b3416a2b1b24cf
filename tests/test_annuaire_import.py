"""The directory knows secure addresses: the optional ``mssante`` column of practitioners.csv, and
``guichet directory import-annuaire FILE`` over the Annuaire Santé extraction (the sample in schemas/annuaire)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from hub.core import Hub
from hub.demo import EXAMPLE_DIRECTORY
from hub.directory.annuaire import import_annuaire
from hub.directory.exporter import export_directory
from hub.directory.importer import import_directory
from hub.store.models import AuditEvent, Practitioner
from tests.conftest import cli_env

SAMPLE = Path(__file__).resolve().parent.parent / "schemas" / "annuaire" / \
    "Extraction_Correspondance_MSSante_exemple.txt"


async def addresses(hub: Hub) -> dict[str, str | None]:
    async with hub.db.session() as session:
        return {r: m for r, m in (await session.execute(select(Practitioner.rpps, Practitioner.mssante))).all()}


async def test_mssante_column_is_optional_and_kept_when_absent(hub: Hub, tmp_path: Path) -> None:
    report = await import_directory(hub, EXAMPLE_DIRECTORY)
    assert report.errors == []
    assert (await addresses(hub))["10000000082"] == "marc.lefevre@medecin.mssante.fr"
    # a file without the column leaves the stored addresses alone
    folder = tmp_path / "dir"
    shutil.copytree(EXAMPLE_DIRECTORY, folder)
    lines = (folder / "practitioners.csv").read_text().splitlines()
    (folder / "practitioners.csv").write_text("\n".join(",".join(line.split(",")[:8]) for line in lines) + "\n")
    assert (await import_directory(hub, folder)).errors == []
    assert (await addresses(hub))["10000000082"] == "marc.lefevre@medecin.mssante.fr"
    # a bad address is a clear line error
    with (folder / "practitioners.csv").open("w") as fh:
        fh.write("\n".join(lines[:2]) + "\n10000000157,Faux,Mss,,gp,,,,pas-une-adresse\n")
    bad = await import_directory(hub, folder)
    assert [(e.line, "mssante" in e.reason) for e in bad.errors] == [(3, True)]
    counts = await export_directory(hub, tmp_path / "out")
    assert counts["practitioners"] == 12
    exported = (tmp_path / "out" / "practitioners.csv").read_text().splitlines()
    assert exported[0].endswith(",mssante") and any(x.endswith(",marc.lefevre@medecin.mssante.fr") for x in exported)


async def test_import_annuaire_fills_by_rpps_and_counts_unknown(hub: Hub) -> None:
    await import_directory(hub, EXAMPLE_DIRECTORY)
    report = await import_annuaire(hub, SAMPLE)
    assert (report.lines, report.persons, report.updated, report.unchanged) == (8, 5, 2, 1)
    assert (report.unknown_rpps, report.extra_addresses, report.other_boxes, report.bad_lines) == (1, 1, 2, 1)
    found = await addresses(hub)
    assert found["10000000074"] == "helene.dubois@medecin.mssante.fr"
    assert found["10000000090"] == "jeanne.petit@cpam-demo.mssante.fr"
    assert found["10000000082"] == "marc.lefevre@medecin.mssante.fr"  # the first box of the RPPS
    assert found["10000000017"] is None  # not in the extraction: unchanged
    assert "10000000157" not in found  # unknown RPPS are counted, never created
    again = await import_annuaire(hub, SAMPLE)
    assert (again.updated, again.unchanged) == (0, 3)
    async with hub.db.session() as session:
        details = (await session.execute(select(AuditEvent.detail).where(
            AuditEvent.entity_type == "Directory", AuditEvent.action == "import"))).scalars().all()
    assert any("RPPS inconnu" in (d or "") for d in details)
    assert not any("DUBOIS" in (d or "") or "Hélène" in (d or "") for d in details)


async def test_command_line(hub: Hub, tmp_path: Path) -> None:
    await import_directory(hub, EXAMPLE_DIRECTORY)
    env = cli_env(hub.settings)
    run = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "hub.cli", "directory", "import-annuaire",
                                                   str(SAMPLE)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "2 praticien(s) mis à jour" in run.stdout and "1 RPPS inconnu(s)" in run.stdout
    not_it = tmp_path / "employers.csv"
    not_it.write_text("siret,name\n1,2\n")
    bad = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "hub.cli", "directory", "import-annuaire",
                                                   str(not_it)], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "n'est pas une extraction des boîtes MSSanté" in bad.stderr


async def test_zip_archive_and_progress_bar(hub: Hub, tmp_path: Path, capsys: object) -> None:
    """The ANS serves the extraction zipped: the archive is read as is; the progress bar goes to stderr."""
    import zipfile

    await import_directory(hub, EXAMPLE_DIRECTORY)
    archive = tmp_path / "Extraction_Correspondance_MSSante_202611301013.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(SAMPLE, "Extraction_Correspondance_MSSante_202611301013.txt")
    report = await import_annuaire(hub, archive, progress=True)
    assert (report.lines, report.updated, report.unknown_rpps) == (8, 2, 1)
    assert "annuaire MSSanté" in capsys.readouterr().err  # type: ignore[attr-defined]


async def test_a_box_gone_from_a_new_extraction_is_removed_but_the_spsti_own_addresses_stay(
        hub: Hub, tmp_path: Path) -> None:
    await import_directory(hub, EXAMPLE_DIRECTORY)  # 10000000082 (Marc Lefèvre) has an address in the CSV
    await import_annuaire(hub, SAMPLE)
    assert (await addresses(hub))["10000000074"] == "helene.dubois@medecin.mssante.fr"
    newer = tmp_path / "Extraction_Correspondance_MSSante_suivante.txt"
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    kept = [x for x in lines if "|10000000074|" not in x and "|10000000082|" not in x]  # two boxes closed since
    newer.write_text("\n".join(kept) + "\n", encoding="utf-8")
    partial = await import_annuaire(hub, newer, keep_missing=True)
    assert partial.removed == 0 and (await addresses(hub))["10000000074"] == "helene.dubois@medecin.mssante.fr"
    report = await import_annuaire(hub, newer)
    found = await addresses(hub)
    assert report.removed == 1 and "1 adresse(s) retirée(s)" in report.summary_fr()
    assert found["10000000074"] is None  # the Annuaire gave it, and lists it no more: answers must not go there
    assert found["10000000082"] == "marc.lefevre@medecin.mssante.fr"  # the SPSTI's own directory gave this one
    assert found["10000000090"] == "jeanne.petit@cpam-demo.mssante.fr"  # still listed
    header_only = tmp_path / "Extraction_vide.txt"
    header_only.write_text(lines[0] + "\n", encoding="utf-8")
    await import_annuaire(hub, header_only)
    assert (await addresses(hub))["10000000090"] == "jeanne.petit@cpam-demo.mssante.fr"  # an empty file removes none
