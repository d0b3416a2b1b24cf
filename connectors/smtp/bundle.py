"""A light reading of a FHIR R4 message Bundle attached to an email (no dependency on the FHIR connector).

Contract: ``read_bundle(doc)`` returns :class:`BundleFacts` with what it could find — event, worker, employer
(SIRET from ``Patient.contact`` with relationship ``E`` or any Organization), requester (RPPS, name, email),
arrêt de travail (``Observation`` work-stoppage), consent and the free text — and a list of French problems.
It never raises; a Bundle that gives nothing usable yields empty facts and a problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hub.identifiers import check_rpps, check_siret
from hub.intake.drafts import EVENTS, STOPPAGE_CAUSES, ConsentStatement, EmployerRef, Person, WorkStoppage


@dataclass
class BundleFacts:
    event: str | None = None
    worker: Person | None = None
    employer: EmployerRef | None = None
    requester_rpps: str | None = None
    requester_name: str | None = None
    requester_email: str | None = None
    stoppage: WorkStoppage | None = None
    consent: ConsentStatement | None = None
    text: str = ""
    problems: list[str] = field(default_factory=list)


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _name(resource: dict[str, Any]) -> tuple[str, str]:
    names = resource.get("name") or []
    if isinstance(names, list) and names and isinstance(names[0], dict):
        given = names[0].get("given") or []
        return str(names[0].get("family") or ""), " ".join(str(g) for g in given if g)
    if isinstance(names, str):
        return names, ""
    return "", ""


def _identifiers(resource: dict[str, Any]) -> list[str]:
    return [str(i.get("value")) for i in resource.get("identifier") or [] if isinstance(i, dict) and i.get("value")]


def _resources(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for entry in doc.get("entry") or []:
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            out.append(entry["resource"])
    return out


def _by_ref(resources: list[dict[str, Any]], doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for entry in doc.get("entry") or []:
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            res = entry["resource"]
            if entry.get("fullUrl"):
                index[str(entry["fullUrl"])] = res
            if res.get("id"):
                index[f"{res.get('resourceType')}/{res['id']}"] = res
    return index


def _organization_siret(org: dict[str, Any]) -> EmployerRef | None:
    for value in _identifiers(org):
        if check_siret(value) is None:
            return EmployerRef(siret=value.replace(" ", ""), name=org.get("name"))
    return EmployerRef(name=org.get("name")) if org.get("name") else None


def _employer(patient: dict[str, Any], index: dict[str, dict[str, Any]],
              resources: list[dict[str, Any]]) -> EmployerRef | None:
    for contact in patient.get("contact") or []:
        codes = [c.get("code") for rel in contact.get("relationship") or [] for c in rel.get("coding") or []]
        if "E" in codes and isinstance(contact.get("organization"), dict):
            org = index.get(str(contact["organization"].get("reference")))
            if org is not None:
                return _organization_siret(org)
    for res in resources:
        if res.get("resourceType") == "Organization":
            found = _organization_siret(res)
            if found and found.siret:
                return found
    return None


def _worker(patient: dict[str, Any]) -> Person:
    family, given = _name(patient)
    ins = next((v for v in _identifiers(patient) if len(v.replace(" ", "")) == 15), None)
    return Person(family_name=family, given_names=given, birth_date=_date(patient.get("birthDate")),
                  sex=patient.get("gender"), ins=ins)


def _stoppage(obs: dict[str, Any]) -> WorkStoppage | None:
    period = obs.get("effectivePeriod") or {}
    start = _date(period.get("start"))
    if start is None:
        return None
    codes = [c.get("code") for c in (obs.get("valueCodeableConcept") or {}).get("coding") or []]
    cause = next((c for c in codes if c in STOPPAGE_CAUSES), "illness")
    return WorkStoppage(start=start, end=_date(period.get("end")), cause=cause)


def _consent(res: dict[str, Any]) -> ConsentStatement:
    provision = (res.get("provision") or {}).get("type", "permit")
    decision = "deny" if provision == "deny" or res.get("status") in ("rejected", "inactive") else "permit"
    return ConsentStatement(decision=decision, given_on=_date(res.get("dateTime")), channel="email",
                            declared_by="third-party")


def read_bundle(doc: dict[str, Any]) -> BundleFacts:
    facts = BundleFacts()
    try:
        resources = _resources(doc)
        index = _by_ref(resources, doc)
        texts: list[str] = []
        for res in resources:
            kind = res.get("resourceType")
            if kind == "MessageHeader":
                code = (res.get("eventCoding") or {}).get("code")
                facts.event = code if code in EVENTS else None
            elif kind == "Patient" and facts.worker is None:
                facts.worker = _worker(res)
                facts.employer = _employer(res, index, resources)
            elif kind == "Practitioner" and facts.requester_rpps is None:
                rpps = next((v for v in _identifiers(res) if check_rpps(v) is None), None)
                family, given = _name(res)
                facts.requester_rpps, facts.requester_name = rpps, f"{given} {family}".strip() or None
                facts.requester_email = next((str(t.get("value")) for t in res.get("telecom") or []
                                              if isinstance(t, dict) and t.get("system") == "email"), None)
            elif kind == "Observation" and any(
                    c.get("code") == "work-stoppage" for c in (res.get("code") or {}).get("coding") or []):
                facts.stoppage = _stoppage(res)
            elif kind == "Consent":
                facts.consent = _consent(res)
            elif kind == "ServiceRequest":
                texts += [str(n.get("text")) for n in res.get("note") or [] if isinstance(n, dict) and n.get("text")]
            elif kind == "Communication":
                texts += [str(p.get("contentString")) for p in res.get("payload") or []
                          if isinstance(p, dict) and p.get("contentString")]
        facts.text = "\n\n".join(texts)
        if facts.event is None:
            facts.problems.append("Bundle FHIR joint sans événement reconnu (MessageHeader.eventCoding)")
        if facts.employer is None or not facts.employer.siret:
            facts.problems.append("Bundle FHIR joint sans SIRET d'employeur valide")
    except (AttributeError, TypeError, ValueError) as exc:
        facts.problems.append(f"Bundle FHIR joint illisible ({type(exc).__name__})")
    if facts.employer is None and facts.worker is None:
        facts.problems.append("Bundle FHIR joint sans patient ni employeur")
    return facts
