"""Build an ``IHE_XDM.ZIP`` (the layout of the ANS public sample ``DRIM-M_DATA/informatif/XDM``).

Contract: ``build_xdm(documents, patient, author, source_id)`` returns the bytes of a ZIP holding ``INDEX.HTM``,
``README.TXT`` and ``IHE_XDM/SUBSET01/`` with ``METADATA.XML`` (an ebRIM 3.0 ``SubmitObjectsRequest``: the
submission set with its time, author and patient id, one ``ExtrinsicObject`` per document with creation time,
hash, size, ``sourcePatientId``/``sourcePatientInfo``, ``URI`` and type code) and the documents under ISO-9660
level-1 names (``DOC0001.PDF``…). Used for documents sent by MSSanté, and by the tests as the sample sender.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from connectors.mssante.xdm import DOC_AUTHOR, DOC_PATIENT_ID, DOC_TYPE_CODE, SET_AUTHOR, SET_PATIENT_ID

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
LOINC = "2.16.840.1.113883.6.1"
EXTENSIONS = {"application/pdf": "PDF", "text/xml": "XML", "application/xml": "XML", "text/plain": "TXT"}


@dataclass
class OutDocument:
    content: bytes
    content_type: str = "application/pdf"
    type_code: str = "11488-4"
    type_label: str = "Compte rendu de consultation"
    title: str = "Document"


@dataclass
class OutPatient:
    ins: str | None = None
    ins_oid: str = "1.2.250.1.213.1.4.8"
    family_name: str = ""
    given_names: str = ""
    birth_date: str | None = None  # YYYYMMDD
    sex: str | None = None  # M | F


def _slot(parent: ET.Element, name: str, *values: str) -> None:
    slot = ET.SubElement(parent, f"{{{RIM}}}Slot", name=name)
    lst = ET.SubElement(slot, f"{{{RIM}}}ValueList")
    for value in values:
        ET.SubElement(lst, f"{{{RIM}}}Value").text = value


def _name(parent: ET.Element, value: str) -> None:
    ET.SubElement(ET.SubElement(parent, f"{{{RIM}}}Name"), f"{{{RIM}}}LocalizedString", charset="UTF8",
                  value=value)


def _ident(parent: ET.Element, scheme: str, owner: str, value: str, label: str, ident: str) -> None:
    ext = ET.SubElement(parent, f"{{{RIM}}}ExternalIdentifier", id=ident, identificationScheme=scheme,
                        registryObject=owner, value=value)
    _name(ext, label)


def _author(parent: ET.Element, scheme: str, owner: str, author: str, ident: str) -> None:
    cls = ET.SubElement(parent, f"{{{RIM}}}Classification", classificationScheme=scheme, classifiedObject=owner,
                        id=ident)
    _slot(cls, "authorPerson", author)


def build_xdm(documents: list[OutDocument], patient: OutPatient, author: str,
              source_id: str = "1.2.250.1.999.1.1.1") -> bytes:
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    pid = f"{patient.ins}^^^&{patient.ins_oid}&ISO^NH" if patient.ins else "INCONNU^^^&1.2.250.1.999&ISO^PI"
    root = ET.Element(f"{{{LCM}}}SubmitObjectsRequest")
    objects = ET.SubElement(root, f"{{{RIM}}}RegistryObjectList")
    package = ET.SubElement(objects, f"{{{RIM}}}RegistryPackage", id="SubmissionSet01")
    _slot(package, "submissionTime", now)
    _author(package, SET_AUTHOR, "SubmissionSet01", author, "cla0")
    _ident(package, SET_PATIENT_ID, "SubmissionSet01", pid, "XDSSubmissionSet.patientId", "ei0")
    _ident(package, "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832", "SubmissionSet01", source_id,
           "XDSSubmissionSet.sourceId", "ei1")
    files: dict[str, bytes] = {}
    for n, doc in enumerate(documents, start=1):
        name = f"DOC{n:04d}.{EXTENSIONS.get(doc.content_type, 'BIN')}"
        files[name] = doc.content
        entry = ET.SubElement(objects, f"{{{RIM}}}ExtrinsicObject", id=f"Document{n:02d}", mimeType=doc.content_type,
                              objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1")
        _slot(entry, "creationTime", now)
        _slot(entry, "hash", hashlib.sha1(doc.content).hexdigest())  # noqa: S324 - the XDS metadata field is SHA-1
        _slot(entry, "size", str(len(doc.content)))
        _slot(entry, "sourcePatientId", pid)
        info = [f"PID-5|{patient.family_name}^{patient.given_names}^^^^^L"]
        info += [f"PID-7|{patient.birth_date}"] if patient.birth_date else []
        info += [f"PID-8|{patient.sex}"] if patient.sex else []
        _slot(entry, "sourcePatientInfo", *info)
        _slot(entry, "URI", name)
        _name(entry, doc.title)
        _author(entry, DOC_AUTHOR, f"Document{n:02d}", author, f"cla{n}a")
        cls = ET.SubElement(entry, f"{{{RIM}}}Classification", classificationScheme=DOC_TYPE_CODE,
                            classifiedObject=f"Document{n:02d}", id=f"cla{n}t", nodeRepresentation=doc.type_code)
        _slot(cls, "codingScheme", LOINC)
        _name(cls, doc.type_label)
        _ident(entry, DOC_PATIENT_ID, f"Document{n:02d}", pid, "XDSDocumentEntry.patientId", f"ei{n}p")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("INDEX.HTM", "<html><body><p>Documents de sant&eacute; (IHE XDM) : "
                                      "IHE_XDM/SUBSET01/</p></body></html>\n")
        archive.writestr("README.TXT", "IHE XDM - Guichet unique sante au travail\r\n")
        archive.writestr("IHE_XDM/SUBSET01/METADATA.XML",
                         ET.tostring(root, encoding="utf-8", xml_declaration=True))
        for name, content in files.items():
            archive.writestr(f"IHE_XDM/SUBSET01/{name}", content)
    return buffer.getvalue()
