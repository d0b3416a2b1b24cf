"""Open an ``IHE_XDM.ZIP`` (IHE XDM, the layout MSSanté messages carry documents in) within limits.

Contract: ``read_xdm(data, limits)`` returns an ``Xdm`` (the patient of the submission — INS with its OID when
the identity is an INS, traits from ``sourcePatientInfo`` —, the author, and one ``XdmDocument`` per
``ExtrinsicObject`` whose ``URI`` names a file of the archive: its bytes, MIME type, type code and label,
creation time, title), or raises ``XdmError`` with a French reason: not a ZIP, too large (compressed or once
inflated), too many entries, paths too deep or escaping the archive, no ``IHE_XDM/<subset>/METADATA.XML``,
metadata that is not XML or declares a DTD, a document announced but absent. Element names are read without
their namespace (senders differ); nothing is fetched from the network and no entity is expanded.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from xml.etree import ElementTree

# INS: the NIR or NIA under these OIDs (1.2.250.1.213.1.4.8 NIR, .9 NIA, .10/.11 test and demonstration NIR)
INS_OIDS = {"1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11"}
DOC_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
SET_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
DOC_TYPE_CODE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
DOC_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
SET_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"


class XdmError(ValueError):
    """The archive cannot be used; the message says why, in French."""


@dataclass(frozen=True)
class XdmLimits:
    max_bytes: int = 50 * 1024 * 1024
    max_entries: int = 200
    max_depth: int = 4


@dataclass
class XdmDocument:
    filename: str
    content_type: str
    content: bytes
    type_code: str | None = None
    type_label: str | None = None
    creation_time: str | None = None
    title: str | None = None


@dataclass
class XdmPatient:
    ins: str | None = None
    ins_oid: str | None = None
    family_name: str = ""
    given_names: str = ""
    birth_date: date | None = None
    sex: str | None = None


@dataclass
class Xdm:
    patient: XdmPatient
    author: str | None = None
    author_id: str | None = None
    documents: list[XdmDocument] = field(default_factory=list)

    @property
    def type_codes(self) -> list[str]:
        return list(dict.fromkeys(d.type_code for d in self.documents if d.type_code))


def _local(tag: str) -> str:
    return tag.rpartition("}")[2] if "}" in tag else tag.rpartition(":")[2]


def _children(node: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [c for c in node if _local(c.tag) == name]


def _slot(node: ElementTree.Element, name: str) -> list[str]:
    for slot in _children(node, "Slot"):
        if slot.get("name") == name:
            return [(v.text or "").strip() for lst in _children(slot, "ValueList") for v in _children(lst, "Value")]
    return []


def _label(node: ElementTree.Element) -> str | None:
    for name in _children(node, "Name"):
        for s in _children(name, "LocalizedString"):
            if s.get("value"):
                return s.get("value")
    return None


def _safe_members(archive: zipfile.ZipFile, limits: XdmLimits) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise XdmError(f"archive IHE_XDM.ZIP : trop de fichiers ({len(infos)} > {limits.max_entries})")
    total, members = 0, {}
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = [p for p in name.split("/") if p]
        if name.startswith("/") or ".." in parts or ":" in name:
            raise XdmError(f"archive IHE_XDM.ZIP : chemin refusé ({name[:80]})")
        if len(parts) > limits.max_depth:
            raise XdmError(f"archive IHE_XDM.ZIP : arborescence trop profonde ({len(parts)} niveaux > "
                           f"{limits.max_depth})")
        total += info.file_size
        if total > limits.max_bytes:
            raise XdmError(f"archive IHE_XDM.ZIP : trop volumineuse une fois décompressée (> {limits.max_bytes} "
                           "octets)")
        if not info.is_dir():
            members["/".join(parts).upper()] = info
    return members


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    with archive.open(info) as fh:
        data = fh.read(budget + 1)
    if len(data) > budget:  # the announced size lied (a "zip bomb")
        raise XdmError("archive IHE_XDM.ZIP : trop volumineuse une fois décompressée")
    return data


def _parse_id(value: str) -> tuple[str, str | None]:
    ident, _, rest = value.partition("^^^")
    oid = re.search(r"&([0-9.]+)&ISO", rest)
    return ident.strip(), oid.group(1) if oid else None


def _patient(root: ElementTree.Element, entries: list[ElementTree.Element]) -> XdmPatient:
    patient = XdmPatient()
    ids = [e.get("value", "") for node in root.iter() if _local(node.tag) == "ExternalIdentifier"
           and node.get("identificationScheme") in (DOC_PATIENT_ID, SET_PATIENT_ID) for e in [node]]
    for value in ids:
        ident, oid = _parse_id(value)
        if oid in INS_OIDS and ident:
            patient.ins, patient.ins_oid = ident, oid
            break
    for entry in entries:
        for value in _slot(entry, "sourcePatientInfo"):
            field_name, _, data = value.partition("|")
            if field_name == "PID-5" and not patient.family_name:
                family, _, given = data.partition("^")
                patient.family_name, patient.given_names = family.strip(), given.partition("^")[0].strip()
            elif field_name == "PID-7" and re.fullmatch(r"\d{8}", data.strip()):
                d = data.strip()
                try:
                    patient.birth_date = date(int(d[:4]), int(d[4:6]), int(d[6:8]))
                except ValueError:
                    pass
            elif field_name == "PID-8" and data.strip() in ("M", "F"):
                patient.sex = "male" if data.strip() == "M" else "female"
    return patient


def _author(root: ElementTree.Element) -> tuple[str | None, str | None]:
    for node in root.iter():
        if _local(node.tag) == "Classification" and node.get("classificationScheme") in (DOC_AUTHOR, SET_AUTHOR):
            for value in _slot(node, "authorPerson"):
                parts = value.split("^")
                name = " ".join(p for p in (parts[2] if len(parts) > 2 else "", parts[1] if len(parts) > 1
                                            else "") if p).strip()
                return (name or None), (parts[0] or None)
    return None, None


def read_xdm(data: bytes, limits: XdmLimits = XdmLimits()) -> Xdm:
    if len(data) > limits.max_bytes:
        raise XdmError(f"archive IHE_XDM.ZIP trop volumineuse ({len(data)} octets > {limits.max_bytes})")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise XdmError(f"archive IHE_XDM.ZIP illisible ({exc})") from exc
    try:
        with archive:
            members = _safe_members(archive, limits)
            metadata = sorted(n for n in members if re.fullmatch(r"IHE_XDM/[^/]+/METADATA\.XML", n))
            if not metadata:
                raise XdmError("archive IHE_XDM.ZIP sans IHE_XDM/<sous-dossier>/METADATA.XML")
            budget = limits.max_bytes
            result: Xdm | None = None
            for meta_name in metadata:
                raw = _read(archive, members[meta_name], budget)
                budget -= len(raw)
                if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
                    raise XdmError("METADATA.XML refusé : déclaration DTD/entité")
                try:
                    root = ElementTree.fromstring(raw)  # noqa: S314 - DTD and entities refused above
                except ElementTree.ParseError as exc:
                    raise XdmError(f"METADATA.XML illisible ({exc})") from exc
                entries = [n for n in root.iter() if _local(n.tag) == "ExtrinsicObject"]
                if result is None:
                    author, author_id = _author(root)
                    result = Xdm(patient=_patient(root, entries), author=author, author_id=author_id)
                subset = meta_name.rsplit("/", 2)[-2]
                for entry in entries:
                    uri = next(iter(_slot(entry, "URI")), "")
                    if not uri:
                        continue
                    path = uri.replace("\\", "/").upper()
                    key = path if path.startswith("IHE_XDM/") else (
                        f"IHE_XDM/{path}" if "/" in path else f"IHE_XDM/{subset}/{path}")
                    if key not in members:
                        raise XdmError(f"document annoncé absent de l'archive : {uri[:80]}")
                    content = _read(archive, members[key], budget)
                    budget -= len(content)
                    type_code = type_label = None
                    for cls in _children(entry, "Classification"):
                        if cls.get("classificationScheme") == DOC_TYPE_CODE:
                            type_code, type_label = cls.get("nodeRepresentation"), _label(cls)
                    result.documents.append(XdmDocument(
                        filename=key.rpartition("/")[2], content_type=entry.get("mimeType") or
                        "application/octet-stream", content=content, type_code=type_code, type_label=type_label,
                        creation_time=next(iter(_slot(entry, "creationTime")), None), title=_label(entry)))
            assert result is not None
            return result
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, OSError) as exc:
        raise XdmError(f"archive IHE_XDM.ZIP illisible ({type(exc).__name__})") from exc
