"""Attachments that could act: PDFs with active content, and types a browser would run.

Contract:
- ``pdf_active_content(data)`` → the names of the active features a PDF carries (``JavaScript``, ``Launch``,
  ``EmbeddedFile``…), looked for in its objects and in its compressed streams (object streams hide them), with
  ``#xx`` escapes in names decoded; empty for a plain PDF. Decompression is bounded (``MAX_INFLATE`` bytes).
- ``download_type(content_type)`` → the type an attachment is served with: its own for a short list of passive
  types, else ``application/octet-stream`` (HTML, SVG, XHTML, XML, scripts… are only ever downloaded).
- ``ACTIVE_PDF_FR``: the French reason given when such a PDF is refused.
"""

from __future__ import annotations

import re
import zlib

ACTIVE_NAMES = {"JavaScript": "JavaScript", "JS": "JavaScript", "Launch": "Launch", "EmbeddedFile": "EmbeddedFile",
                "EmbeddedFiles": "EmbeddedFile", "RichMedia": "RichMedia", "XFA": "XFA", "SubmitForm": "SubmitForm",
                "ImportData": "ImportData", "GoToE": "GoToE"}
PASSIVE_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/gif", "text/plain")
MAX_INFLATE = 64 * 1024 * 1024
ACTIVE_PDF_FR = ("contient du contenu actif ({features}) : il est refusé par sécurité. Enregistrez le document "
                 "en PDF simple (« Imprimer » puis « Enregistrer au format PDF ») et joignez ce fichier.")
_NAME = re.compile(rb"/([A-Za-z0-9#]+)")
_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)


def _names(data: bytes) -> set[str]:
    found = set()
    for raw in _NAME.findall(data):
        name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw).decode("latin-1")
        if name in ACTIVE_NAMES:
            found.add(ACTIVE_NAMES[name])
    return found


def pdf_active_content(data: bytes) -> list[str]:
    found = _names(data)
    budget = MAX_INFLATE
    for match in _STREAM.finditer(data):
        if budget <= 0:
            found.add("flux compressés trop volumineux")
            break
        inflater = zlib.decompressobj()
        try:
            inflated = inflater.decompress(match.group(1), budget)
        except zlib.error:
            continue
        budget -= len(inflated)
        found |= _names(inflated)
    return sorted(found)


def download_type(content_type: str) -> str:
    base = content_type.split(";", 1)[0].strip().lower()
    return base if base in PASSIVE_TYPES else "application/octet-stream"
