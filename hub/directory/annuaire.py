"""``guichet directory import-annuaire FILE``: MSSanté addresses from the Annuaire Santé public extraction.

Contract: ``await import_annuaire(hub, path, progress=False, keep_missing=False)`` reads the ANS extraction of
MSSanté mailboxes (``Extraction_Correspondance_MSSante_*.txt``: UTF-8, ``|``-separated, one header line, 31
columns; a sample is ``schemas/annuaire/``; or the ``.zip`` archive holding it, as the ANS serves it) as a
stream, and sets ``Practitioner.mssante`` for the directory's practitioners by RPPS.
Only personal boxes (``Type de BAL`` ``PER``) held under an RPPS (``Type Identifiant PP`` ``8``) count; the first
address of an RPPS wins (later ones are counted as ``extra_addresses``). Unknown RPPS are counted, never created.
The extraction is the national list: an address it gave earlier (``mssante_source`` ``annuaire``) and no longer
lists is removed (``removed``: the box was closed, answers must not go there), unless ``keep_missing`` (a partial
file) or the file lists no personal box at all; an address from the SPSTI's own practitioners.csv (``directory``)
is never removed here. Columns are found by their header names (positions
of the 2024 layout as a fallback). One transaction; one audit entry. Returns an :class:`AnnuaireReport`. Only
the first four columns are read: names and places of the extraction never leave this function.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select, update

from hub.audit import Actor
from hub.directory.rows import RowError, mssante_address
from hub.identifiers import check_rpps
from hub.store.models import Practitioner

if TYPE_CHECKING:
    from hub.core import Hub

BATCH = 2000
WANTED = {"type de bal": 0, "adresse bal": 1, "type identifiant pp": 2, "identifiant pp": 3}


class AnnuaireFormatError(ValueError):
    """The file is not an extraction of MSSanté addresses (French message)."""


@dataclass
class AnnuaireReport:
    lines: int = 0
    persons: int = 0  # personal boxes under an RPPS
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # addresses the extraction gave before and no longer lists
    unknown_rpps: int = 0  # RPPS not in the directory (counted once each)
    extra_addresses: int = 0  # further boxes of an RPPS already seen
    other_boxes: int = 0  # organisational, applicative, practice boxes; ADELI holders
    bad_lines: int = 0

    def summary_fr(self) -> str:
        return (f"Annuaire Santé (MSSanté) — {self.lines} ligne(s) lue(s), {self.persons} boîte(s) personnelle(s) "
                f"sous RPPS : {self.updated} praticien(s) mis à jour, {self.unchanged} déjà à jour, "
                f"{self.removed} adresse(s) retirée(s) (absentes de l'extraction), "
                f"{self.unknown_rpps} RPPS inconnu(s) de l'annuaire (non créés), {self.extra_addresses} adresse(s) "
                f"supplémentaire(s) ignorée(s), {self.other_boxes} autre(s) boîte(s) ignorée(s), "
                f"{self.bad_lines} ligne(s) illisible(s)")


def _key(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(plain.replace("'", " ").lower().split())


def _columns(header: str) -> tuple[int, int, int, int]:
    names = [_key(c) for c in header.rstrip("\r\n").lstrip("\ufeff").split("|")]
    if len(names) < 4 or "adresse bal" not in names:
        raise AnnuaireFormatError("ce fichier n'est pas une extraction des boîtes MSSanté de l'Annuaire Santé "
                                  "(en-tête « Type de BAL|Adresse BAL|… » attendu, séparateur « | »)")
    found = [names.index(n) if n in names else default for n, default in WANTED.items()]
    return found[0], found[1], found[2], found[3]


def _size(path: Path) -> int:
    """Bytes of text to read: the file, or the extraction inside the ZIP archive the ANS publishes."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return _member(archive).file_size
    return path.stat().st_size


def _member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    texts = [m for m in archive.infolist() if m.filename.lower().endswith(".txt")]
    if len(texts) != 1:
        raise AnnuaireFormatError("l'archive doit contenir un seul fichier .txt (l'extraction MSSanté)")
    return texts[0]


def _lines(path: Path, bar: Any) -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        if zipfile.is_zipfile(path):
            archive = stack.enter_context(zipfile.ZipFile(path))
            raw = stack.enter_context(archive.open(_member(archive)))
            fh: IO[str] = stack.enter_context(io.TextIOWrapper(raw, encoding="utf-8", errors="replace",
                                                                newline=""))
        else:
            fh = stack.enter_context(path.open("r", encoding="utf-8", errors="replace", newline=""))
        for line in fh:
            if bar is not None:
                bar.update(len(line.encode("utf-8", "replace")))
            yield line


def read_addresses(path: Path, report: AnnuaireReport, bar: Any = None) -> dict[str, str]:
    """RPPS → the first personal MSSanté address in the extraction (counts go to ``report``)."""
    lines = _lines(path, bar)
    header = next(lines, None)
    if header is None:
        raise AnnuaireFormatError("le fichier est vide")
    kind_at, address_at, id_type_at, id_at = _columns(header)
    width = max(kind_at, address_at, id_type_at, id_at)
    found: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            continue
        report.lines += 1
        cells = line.rstrip("\r\n").split("|")
        if len(cells) <= width:
            report.bad_lines += 1
            continue
        if cells[kind_at].strip().upper() != "PER" or cells[id_type_at].strip() != "8":
            report.other_boxes += 1
            continue
        rpps = cells[id_at].strip()
        try:
            address = mssante_address(cells[address_at]) if not check_rpps(rpps) else None
        except RowError:
            address = None
        if address is None:
            report.bad_lines += 1
            continue
        report.persons += 1
        if rpps in found:
            report.extra_addresses += 1
        else:
            found[rpps] = address
    return found


def _read_with_progress(path: Path, report: AnnuaireReport, progress: bool) -> dict[str, str]:
    if not progress:
        return read_addresses(path, report)
    from tqdm import tqdm

    with tqdm(total=_size(path), desc="annuaire MSSanté", unit="o", unit_scale=True) as bar:
        return read_addresses(path, report, bar)


async def import_annuaire(hub: Hub, path: Path, progress: bool = False, keep_missing: bool = False
                          ) -> AnnuaireReport:
    report = AnnuaireReport()
    found = await asyncio.to_thread(_read_with_progress, path, report, progress)
    async with hub.db.session() as session, session.begin():
        rows = (await session.execute(select(Practitioner.id, Practitioner.rpps, Practitioner.mssante,
                                             Practitioner.mssante_source))).all()
        known = {rpps: (pid, current) for pid, rpps, current, _ in rows}
        changes: list[dict[str, Any]] = []
        for rpps, address in found.items():
            entry = known.get(rpps)
            if entry is None:
                report.unknown_rpps += 1
            elif entry[1] == address:
                report.unchanged += 1
            else:
                changes.append({"id": entry[0], "mssante": address, "mssante_source": "annuaire"})
        if found and not keep_missing:
            gone = [{"id": pid, "mssante": None, "mssante_source": None} for pid, rpps, current, source in rows
                    if source == "annuaire" and current and rpps not in found]
            report.removed = len(gone)
            changes += gone
        for start in range(0, len(changes), BATCH):
            await session.execute(update(Practitioner), changes[start:start + BATCH])
        report.updated = len(changes) - report.removed
        await hub.audit.record(session, actor=Actor("cli", "cli"), action="import", entity_type="Directory",
                               detail=report.summary_fr()[:300])
    return report
