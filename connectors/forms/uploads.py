"""Read a posted form (multipart or urlencoded) within limits, keeping only acceptable attachments.

Contract: ``await read_form(request, limits)`` returns a :class:`PostedForm`: the text fields (each cut at
``limits.field_chars``), the attachments (:class:`AttachmentDraft`, type decided by their first bytes, never by
what the browser claims: PDF, JPEG or PNG only; a PDF with active content — JavaScript, launch actions, embedded
files: ``hub.attachment_safety`` — is refused) and, per file refused, a French reason. It raises
:class:`TooLarge` when the body as a whole is beyond ``limits.body_bytes`` (checked on ``Content-Length`` first,
then while reading), so a client cannot make the server read an unbounded body. A file beyond
``limits.file_bytes`` is drained and refused; only the first ``limits.max_files`` files are kept.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web

from hub.attachment_safety import ACTIVE_PDF_FR, pdf_active_content
from hub.intake import AttachmentDraft

MAGIC = ((b"%PDF-", "application/pdf", ".pdf"), (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
         (b"\x89PNG\r\n\x1a\n", "image/png", ".png"))
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 10 * 1024 * 1024
    max_files: int = 3
    field_chars: int = 10_000
    fields_bytes: int = 256 * 1024

    @property
    def body_bytes(self) -> int:
        return self.max_files * self.file_bytes + self.fields_bytes + 64 * 1024


@dataclass
class PostedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[AttachmentDraft] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    files_offered: int = 0


class TooLarge(Exception):
    """The request body is beyond what any valid submission can weigh."""


def sniff(content: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the first bytes, or None for anything but PDF, JPEG, PNG."""
    for magic, kind, ext in MAGIC:
        if content.startswith(magic):
            return kind, ext
    return None


def safe_filename(name: str, ext: str) -> str:
    base = unicodedata.normalize("NFKC", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = re.sub(r"[^\w .()-]+", "_", base).strip(" .")[:120] or "piece-jointe"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem}{ext}"


def size_fr(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} Mo" if n >= 1024 * 1024 else f"{n // 1024} Ko"


async def _read_part(part: BodyPartReader, limit: int, budget: list[int], keep_head: bool = False
                     ) -> tuple[bytes, bool]:
    """Read a part up to ``limit`` bytes (the rest is drained); False when it was longer (then the data is
    empty, or its first ``limit`` bytes with ``keep_head``)."""
    data = bytearray()
    over = False
    while True:
        chunk = await part.read_chunk(CHUNK)
        if not chunk:
            break
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise TooLarge
        if not over:
            if len(data) + len(chunk) > limit:
                over = True
                if keep_head:
                    data.extend(chunk[:limit - len(data)])
                else:
                    data.clear()
            else:
                data.extend(chunk)
    return bytes(data), not over


async def read_form(request: web.Request, limits: Limits) -> PostedForm:
    if request.content_length is not None and request.content_length > limits.body_bytes:
        raise TooLarge
    form = PostedForm()
    if request.content_type != "multipart/form-data":
        if (request.content_length or 0) > limits.fields_bytes:
            raise TooLarge
        posted = await request.post()
        form.fields = {k: str(v)[:limits.field_chars] for k, v in posted.items() if isinstance(v, str)}
        return form
    budget = [limits.body_bytes]
    fields_budget = [limits.fields_bytes]
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise web.HTTPBadRequest(text="Envoi imbriqué non accepté.")
        name = part.name or ""
        if part.filename is None:
            raw, _ = await _read_part(part, limits.field_chars * 4, budget, keep_head=True)
            fields_budget[0] -= len(raw)
            if fields_budget[0] < 0:
                raise TooLarge
            if name not in form.fields:
                form.fields[name] = raw.decode("utf-8", "replace")[:limits.field_chars]
            continue
        content, fits = await _read_part(part, limits.file_bytes, budget)
        if not part.filename and not content:
            continue  # an empty file input
        form.files_offered += 1
        label = part.filename[:80] or "fichier sans nom"
        if not fits:
            form.file_errors.append(f"« {label} » dépasse la taille maximale de {size_fr(limits.file_bytes)}.")
            continue
        kind = sniff(content)
        if kind is None:
            form.file_errors.append(f"« {label} » n'est pas un fichier PDF, JPEG ou PNG.")
            continue
        active = pdf_active_content(content) if kind[0] == "application/pdf" else []
        if active:
            form.file_errors.append(f"« {label} » " + ACTIVE_PDF_FR.format(features=", ".join(active)))
            continue
        if len(form.files) >= limits.max_files:
            form.file_errors.append(f"« {label} » : {limits.max_files} fichiers au plus peuvent être joints.")
            continue
        form.files.append(AttachmentDraft(filename=safe_filename(part.filename, kind[1]), content_type=kind[0],
                                          content=content))
    return form
