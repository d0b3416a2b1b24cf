"""From a checked message Bundle to the hub's drafts (the connector converts; the hub decides).

Contract:
- ``request_draft(view, bundle, grant) -> RequestDraft`` for pre-return-visit-request, pdp-referral and
  coordination-request; ``source_key`` is ``fhir:<client id>:<MessageHeader.id>`` (idempotency), ``raw`` the
  request bytes, ``body_digest`` the canonical digest (a re-sent id with another body is a conflict).
- ``requester_kind(entry, view)``: a Practitioner is a GP unless its qualification names another kind of
  ``urn:guichet:requester-kind``; a Patient is the worker; an Organization is the employer when it is the worker's
  employer, else the coordinating structure (an explicit ``Organization.type`` of that system wins).
- ``law_expression(field, view)`` maps a :class:`hub.intake.law.Violation` field to the FHIRPath of the element.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from connectors.fhir_api.bundle import Entry, MessageBundle
from connectors.fhir_api.profile import MessageView, codings
from connectors.fhir_api.systems import (
    IDENTITY_RELIABILITY,
    INS_SYSTEMS,
    INSEE_CODE,
    QUALIFIED,
    REQUESTER_KIND,
    RPPS,
    SIRENE,
)
from connectors.fhir_api.systems import STOPPAGE_CAUSE as CAUSE_SYSTEM
from hub.identifiers import clean_digits
from hub.intake.drafts import (
    REQUESTER_KINDS,
    ConsentStatement,
    EmployerRef,
    Person,
    RequestDraft,
    Requester,
    WorkStoppage,
)
from hub.smart import AccessGrant

NUMERIC_SYSTEMS = (RPPS, SIRENE, *INS_SYSTEMS)
SUBJECTS = {"pre-return-visit-request": "Demande de visite de pré-reprise",
            "pdp-referral": "Saisine de la cellule PDP", "coordination-request": "Demande de coordination"}


def as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def explicit_kind(concepts: list[Any]) -> str | None:
    for concept in concepts:
        for c in codings(concept):
            if c.system == REQUESTER_KIND and c.code in REQUESTER_KINDS:
                return str(c.code)
    return None


def requester_kind(entry: Entry | None, view: MessageView) -> str:
    if entry is None:
        return "coordinator"
    if entry.type == "Patient":
        return "worker"
    if entry.type == "Practitioner":
        quals = [q.code for q in (entry.model.qualification or [])]
        return explicit_kind(quals) or "gp"
    explicit = explicit_kind(list(entry.model.type or []))
    if explicit:
        return explicit
    return "employer" if view.employer is not None and entry is view.employer else "coordinator"


def human_name(model: Any) -> str:
    names = getattr(model, "name", None)
    if isinstance(names, str):
        return names
    for n in names or []:
        if n.text:
            return str(n.text)
        return " ".join([*(n.given or []), n.family or ""]).strip()
    return ""


def telecom(model: Any, system: str) -> str | None:
    for t in getattr(model, "telecom", None) or []:
        if t.system == system and t.value:
            return str(t.value)
    return None


def identifier(model: Any, system: str | tuple[str, ...]) -> tuple[str, str] | None:
    systems = (system,) if isinstance(system, str) else system
    for i in getattr(model, "identifier", None) or []:
        if i.system in systems and i.value:
            value = str(i.value)
            return str(i.system), (clean_digits(value).upper() if i.system in NUMERIC_SYSTEMS else value)
    return None


def ins_qualified(patient: Any) -> bool:
    """FR Core identity reliability extension with an identity status ``QUAL`` (qualified through INSi)."""
    for ext in patient.extension or []:
        if ext.url != IDENTITY_RELIABILITY:
            continue
        for sub in ext.extension or []:
            coding = sub.valueCoding
            if coding is not None and coding.code == QUALIFIED:
                return True
    return False


def worker(entry: Entry | None) -> Person | None:
    if entry is None:
        return None
    p = entry.model
    names = p.name or []
    first = names[0] if names else None
    ins = identifier(p, INS_SYSTEMS) if ins_qualified(p) else None
    address = (p.address or [None])[0]
    return Person(family_name=(first.family or "") if first else "", given_names=" ".join(first.given or [])
                  if first else "", birth_date=as_date(p.birthDate), sex=p.gender,
                  ins=ins[1] if ins else None, ins_system=ins[0] if ins else None,
                  residence_commune=_commune(address), email=telecom(p, "email"), phone=telecom(p, "phone"))


def _commune(address: Any) -> str | None:
    """The INSEE code of the address's commune, from the FR Core extension on ``Address.city``."""
    if address is None:
        return None
    for holder in (address.city__ext, address):
        for ext in getattr(holder, "extension", None) or []:
            if ext.url == INSEE_CODE and ext.valueCoding is not None and ext.valueCoding.code:
                return str(ext.valueCoding.code)
    return None


def requester(entry: Entry | None, view: MessageView, grant: AccessGrant) -> Requester:
    kind = requester_kind(entry, view)
    if entry is None:
        return Requester(kind=kind, name=grant.client_name, organisation=grant.client_name,
                         structure_id=grant.structure_id)
    rpps = identifier(entry.model, RPPS)
    return Requester(kind=kind, name=human_name(entry.model), email=telecom(entry.model, "email"),
                     phone=telecom(entry.model, "phone"), rpps=rpps[1] if rpps else None,
                     organisation=grant.client_name, structure_id=grant.structure_id)


def employer(entry: Entry | None) -> EmployerRef | None:
    if entry is None:
        return None
    org = entry.model
    siret = None
    for i in org.identifier or []:
        if i.system == SIRENE and i.value and len(clean_digits(i.value)) == 14:
            siret = clean_digits(i.value)
    address = (org.address or [None])[0]
    return EmployerRef(siret=siret, name=org.name, postcode=address.postalCode if address else None,
                       commune_insee=_commune(address), town=_town(address))


def _town(address: Any) -> str | None:
    return str(address.city) if address is not None and address.city else None


def stoppage(entry: Entry | None) -> WorkStoppage | None:
    if entry is None:
        return None
    obs = entry.model
    start = as_date(obs.effectivePeriod.start) if obs.effectivePeriod else None
    if start is None:
        return None
    end = as_date(obs.effectivePeriod.end)
    cause = next((c.code for c in codings(obs.valueCodeableConcept) if c.system == CAUSE_SYSTEM), "illness")
    return WorkStoppage(start=start, end=end, cause=str(cause))


def consent(entry: Entry | None, bundle: MessageBundle) -> ConsentStatement | None:
    if entry is None:
        return None
    c = entry.model
    provision = c.provision.type if c.provision is not None else None
    decision = "deny" if provision == "deny" or c.status in ("rejected", "inactive", "entered-in-error") else "permit"
    performers = [bundle.resolve(p.reference) for p in (c.performer or [])]
    declared_by = "worker" if any(p is not None and p.type == "Patient" for p in performers) else "third-party"
    purposes = tuple(str(p.code) for p in ((c.provision.purpose or []) if c.provision is not None else [])
                     if p.system == "urn:guichet:consent-purpose" and p.code)  # hub.consent.purposes
    return ConsentStatement(decision=decision, given_on=as_date(c.dateTime), channel="fhir", declared_by=declared_by,
                            purposes=purposes)


def reason_text(view: MessageView) -> str:
    model = view.focus.model
    parts: list[str] = []
    if view.focus.type == "ServiceRequest":
        parts += [r.text for r in (model.reasonCode or []) if r.text]
        parts += [n.text for n in (model.note or []) if n.text]
    else:
        parts += [p.contentString for p in (model.payload or []) if p.contentString]
    return "\n\n".join(parts)


def subject_text(view: MessageView) -> str:
    model = view.focus.model
    if view.focus.type == "ServiceRequest" and model.code is not None and model.code.text:
        return str(model.code.text)[:200]
    if view.focus.type == "Communication" and model.topic is not None and model.topic.text:
        return str(model.topic.text)[:200]
    return SUBJECTS.get(view.event, "Message")


def request_draft(view: MessageView, bundle: MessageBundle, grant: AccessGrant) -> RequestDraft:
    return RequestDraft(
        event=view.event, channel="fhir", source_key=f"fhir:{grant.client_id}:{view.header_id}",
        requester=requester(view.requester, view, grant), subject=subject_text(view), reason=reason_text(view),
        worker=worker(view.worker), employer=employer(view.employer), stoppage=stoppage(view.stoppage),
        consent=consent(view.consent, bundle), raw=bundle.raw, raw_type="application/fhir+json",
        client_id=grant.client_id, trust="api", body_digest=bundle.digest,
        extra={"message_header_id": view.header_id})


def law_expression(field: str, view: MessageView) -> str:
    """The FHIRPath of the element a :class:`Violation` is about."""
    if field.startswith("requester"):
        return "ServiceRequest.requester" if view.focus.type == "ServiceRequest" else "Communication.sender"
    if field == "stoppage.start":
        return "Observation.effectivePeriod.start"
    if field == "stoppage.end":
        return "Observation.effectivePeriod.end"
    if field.startswith("stoppage"):
        return "Observation.effectivePeriod"
    if field == "consent.date":
        return "Consent.dateTime"
    if field.startswith("consent"):
        return "Bundle.entry.resource.ofType(Consent)"
    if field.startswith("employer"):
        return "Patient.contact.organization"
    if field.startswith("worker"):
        return "Patient"
    return "Bundle"
