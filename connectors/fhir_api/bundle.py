"""Reading a message Bundle: the raw bytes, validated once with ``fhir.resources.R4B`` (``model_validate_json``).

Contract: ``parse_message(raw, max_entries=MAX_ENTRIES) -> MessageBundle`` or :class:`FhirError` 400 naming the
element that does not parse, or 422 ``too-costly`` when the Bundle has more than ``max_entries`` entries (checked
on the plain JSON, before the costly model validation) — never an exception of another kind. It is CPU work: the
caller runs it off the event loop (``messaging.process_message`` uses a worker thread).
The model is used for reading, the plain JSON (``json.loads``, cheap) for walking references and the digest; nothing
is ever re-serialised from the model: the raw bytes are what gets stored. ``MessageBundle.resolve(reference)`` finds
an entry by ``fullUrl``, by ``Type/id`` or by an absolute URL ending in ``Type/id``; ``digest`` is the SHA-256 of
the canonical JSON (keys sorted, no spaces), so the same message re-sent with other whitespace is still "the same
message".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from connectors.fhir_api.outcome import FhirError, Issue, one

MAX_ISSUES = 20
MAX_ENTRIES = 200  # a real message carries about ten; guichet.toml ``fhir_max_bundle_entries``


@dataclass
class Entry:
    index: int
    full_url: str | None
    type: str
    id: str | None
    model: Any
    data: dict[str, Any]


@dataclass
class MessageBundle:
    raw: bytes
    data: dict[str, Any]
    model: Bundle
    entries: list[Entry]
    digest: str
    _by_ref: dict[str, Entry] = field(default_factory=dict)

    @property
    def header(self) -> Entry:
        return self.entries[0]

    def resolve(self, reference: str | None) -> Entry | None:
        if not reference:
            return None
        found = self._by_ref.get(reference)
        if found is not None:
            return found
        parts = reference.rstrip("/").split("/")
        if len(parts) >= 2:
            return self._by_ref.get(f"{parts[-2]}/{parts[-1]}")
        return None

    def of_type(self, resource_type: str) -> list[Entry]:
        return [e for e in self.entries if e.type == resource_type]


def _path(loc: tuple[Any, ...]) -> str:
    out = "Bundle"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _has_nul(node: Any) -> bool:
    if isinstance(node, str):
        return "\x00" in node
    if isinstance(node, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in node.items())
    if isinstance(node, list):
        return any(_has_nul(v) for v in node)
    return False


def _too_many(count: int, max_entries: int) -> FhirError:
    return one(422, "too-costly", "Bundle.entry",
               f"Le Bundle compte au moins {count} entrées ; un message en accepte {max_entries} au plus. Rien "
               "n'a été enregistré : envoyez un message par demande, sans ressources superflues.",
               f"The Bundle has at least {count} entries; a message accepts at most {max_entries}. Nothing was "
               "stored.", "too-many-entries")


def parse_message(raw: bytes, max_entries: int = MAX_ENTRIES) -> MessageBundle:
    if raw.count(b'"resource"') > max_entries:  # every entry has one: refuse before a long, GIL-holding parse
        raise _too_many(raw.count(b'"resource"'), max_entries)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise one(400, "structure", "Bundle", "Le corps de la requête n'est pas du JSON valide.",
                  f"The request body is not valid JSON ({type(exc).__name__}).", "not-json") from exc
    if b"\\u0000" in raw and _has_nul(data):
        raise one(400, "structure", "Bundle", "Le message contient un caractère nul (\\u0000) : retirez-le.",
                  "The message holds a NUL character (\\u0000): remove it.", "nul-character")
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise one(400, "structure", "Bundle.resourceType", "Une ressource Bundle est attendue.",
                  "A Bundle resource is expected (resourceType 'Bundle').", "not-a-bundle")
    count = len(data["entry"]) if isinstance(data.get("entry"), list) else 0
    if count > max_entries:
        raise _too_many(count, max_entries)
    try:
        model = Bundle.model_validate_json(raw)
    except ValidationError as exc:
        issues = [Issue("structure", _path(tuple(err["loc"])), f"Élément invalide : {err['msg']}",
                        f"Invalid element: {err['msg']}", "fhir-structure")
                  for err in exc.errors()[:MAX_ISSUES]]
        raise FhirError(400, issues or [Issue("structure", "Bundle", "Bundle invalide.", "Invalid Bundle.")]) from exc
    except Exception as exc:  # noqa: BLE001 - the model library raises KeyError etc. on unknown resource types
        raise one(400, "structure", "Bundle.entry.resource.resourceType",
                  "Ressource inconnue en FHIR R4 dans le Bundle (vérifiez resourceType).",
                  f"A resource of the Bundle is not a known FHIR R4 resource ({type(exc).__name__}: {exc}).",
                  "fhir-structure") from exc
    if model.type != "message":
        raise one(400, "structure", "Bundle.type", "Le Bundle doit être de type « message ».",
                  "Bundle.type must be 'message'.", "not-a-message")
    raw_entries = data.get("entry") or []
    entries: list[Entry] = []
    by_ref: dict[str, Entry] = {}
    for i, (entry, raw_entry) in enumerate(zip(model.entry or [], raw_entries, strict=False)):
        resource = entry.resource
        if resource is None:
            raise one(400, "structure", f"Bundle.entry[{i}].resource", "Entrée sans ressource.",
                      "Every entry of a message Bundle must hold a resource.", "entry-without-resource")
        rdata = raw_entry.get("resource") if isinstance(raw_entry, dict) else None
        item = Entry(i, entry.fullUrl, resource.get_resource_type(), resource.id, resource,
                     rdata if isinstance(rdata, dict) else {})
        entries.append(item)
        if item.full_url:
            by_ref.setdefault(item.full_url, item)
        if item.id:
            by_ref.setdefault(f"{item.type}/{item.id}", item)
    if not entries or entries[0].type != "MessageHeader":
        raise one(400, "structure", "Bundle.entry[0].resource", "La première entrée doit être le MessageHeader.",
                  "The first entry of a message Bundle must be its MessageHeader.", "no-message-header")
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return MessageBundle(raw, data, model, entries, digest, by_ref)
