"""The Guichet profile rules of a message Bundle, beyond FHIR structure (see ``schemas/fhir``).

Contract: ``check_profile(bundle) -> MessageView`` returns the resources the message is about, or raises
:class:`FhirError` 422 listing every rule broken, each issue naming its element:
- MessageHeader: an ``id`` (it makes the message idempotent), an ``eventCoding`` of ``urn:guichet:message-event``,
  one ``focus`` that resolves in the Bundle to a ServiceRequest (pre-return-visit-request, pdp-referral) or a
  Communication (coordination-request, reply);
- every reference resolves inside the Bundle (a reply's ``Task/<id>`` names a Task of this server);
- identifiers: RPPS (11 digits, Luhn), SIRET (14 digits, Luhn) for ``https://sirene.fr``, INS (NIR/NIA key);
- the worker (Patient: family name and birth date) for every event but ``reply``; the requester (Practitioner
  with RPPS, Patient or Organization) of a ServiceRequest; the employer (Organization with a SIRET, named in
  ``Patient.contact`` with relationship v2-0131 ``E``) for a pdp-referral;
- the work stoppage Observation (code ``work-stoppage``, ``effectivePeriod.start``, a cause of
  ``urn:guichet:work-stoppage-cause``), referenced from ``ServiceRequest.supportingInfo``, for a pre-return
  visit; a Consent names the worker and says permit/deny; a coordination-request or reply carries text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.fhir_api.bundle import Entry, MessageBundle
from connectors.fhir_api.outcome import FhirError, Issue
from connectors.fhir_api.systems import (
    FOCUS_TYPE,
    INS_SYSTEMS,
    MESSAGE_EVENT,
    OBSERVATION,
    REQUESTER_TYPES,
    RPPS,
    SIRENE,
    STOPPAGE_CAUSE,
    V2_0131,
    WORK_STOPPAGE,
)
from hub.identifiers import check_nir, check_rpps, check_siret, luhn_ok
from hub.intake.drafts import STOPPAGE_CAUSES


@dataclass
class MessageView:
    event: str
    header_id: str
    focus: Entry
    worker: Entry | None = None
    requester: Entry | None = None
    employer: Entry | None = None
    stoppage: Entry | None = None
    consent: Entry | None = None
    task_id: str | None = None


def codings(concept: Any) -> list[Any]:
    return list(getattr(concept, "coding", None) or []) if concept is not None else []


def has_code(concept: Any, system: str, code: str | None = None) -> bool:
    return any(c.system == system and (code is None or c.code == code) for c in codings(concept))


def _walk_references(node: Any, path: str, out: list[tuple[str, str]]) -> None:
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str):
            out.append((path, ref))
        for key, value in node.items():
            if key not in ("reference", "contained"):
                _walk_references(value, f"{path}.{key}", out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _walk_references(value, f"{path}[{i}]", out)


def task_id_of(reference: str | None) -> str | None:
    """``Task/<id>`` (or a URL ending so) → the id."""
    if not reference:
        return None
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "Task" and parts[-1]:
        return parts[-1]
    return None


class _Checker:
    def __init__(self, bundle: MessageBundle) -> None:
        self.bundle = bundle
        self.issues: list[Issue] = []

    def fail(self, code: str, expression: str, fr: str, en: str, rule: str) -> None:
        self.issues.append(Issue(code, expression, fr, en, rule))

    # -- the header and its focus --------------------------------------------------------------------------
    def header(self) -> tuple[str, str, Entry] | None:
        header = self.bundle.header.model
        if not header.id:
            self.fail("required", "MessageHeader.id", "Le MessageHeader doit avoir un id (il rend l'envoi "
                      "idempotent).", "MessageHeader.id is required (it makes the message idempotent).",
                      "header-id-missing")
        coding = header.eventCoding
        event = coding.code if coding is not None and coding.system == MESSAGE_EVENT else None
        if event not in FOCUS_TYPE:
            self.fail("code-invalid", "MessageHeader.eventCoding",
                      f"Événement inconnu : utilisez le système {MESSAGE_EVENT} et l'un des codes "
                      f"{', '.join(FOCUS_TYPE)}.",
                      f"Unknown event: use system {MESSAGE_EVENT} with one of {', '.join(FOCUS_TYPE)}.",
                      "event-unknown")
            return None
        assert event is not None
        focus_refs = [f.reference for f in (header.focus or [])]
        expected = FOCUS_TYPE[event]
        if len(focus_refs) != 1:
            self.fail("required", "MessageHeader.focus", f"Le MessageHeader doit désigner une seule ressource "
                      f"({expected}) dans focus.", f"MessageHeader.focus must name exactly one {expected}.",
                      "focus-count")
            return None
        focus = self.bundle.resolve(focus_refs[0])
        if focus is None or focus.type != expected:
            self.fail("invalid", "MessageHeader.focus", f"MessageHeader.focus doit pointer vers le {expected} "
                      "contenu dans le Bundle.", f"MessageHeader.focus must point to the {expected} in the Bundle.",
                      "focus-unresolved")
            return None
        return event, header.id or "", focus

    def references(self) -> None:
        for entry in self.bundle.entries:
            found: list[tuple[str, str]] = []
            _walk_references(entry.data, entry.type, found)
            for path, ref in found:
                if ref.startswith("#") or task_id_of(ref) is not None:
                    continue
                if self.bundle.resolve(ref) is None:
                    self.fail("not-found", path, f"La référence « {ref[:80]} » ne correspond à aucune ressource "
                              "du Bundle.", f"Reference '{ref[:80]}' does not resolve inside the Bundle.",
                              "reference-unresolved")

    def identifiers(self) -> None:
        for entry in self.bundle.entries:
            for i, ident in enumerate(getattr(entry.model, "identifier", None) or []
                                      if entry.type in ("Practitioner", "Organization", "Patient") else []):
                self._identifier(entry, i, ident)

    def _identifier(self, entry: Entry, i: int, ident: Any) -> None:
        where, value = f"{entry.type}.identifier[{i}]", ident.value or ""
        if ident.system == RPPS and check_rpps(value):
            self.fail("value", where, f"RPPS invalide « {value[:20]} » : 11 chiffres dont une clé de Luhn.",
                      f"Invalid RPPS '{value[:20]}': {check_rpps(value)}.", "rpps-invalid")
        elif ident.system == SIRENE:
            if any(c.code == "SIREN" for c in codings(ident.type)):  # SIREN and SIRET share the system
                if not (value.isdigit() and len(value) == 9 and luhn_ok(value)):
                    self.fail("value", where, f"SIREN invalide « {value[:20]} » : 9 chiffres dont une clé.",
                              f"Invalid SIREN '{value[:20]}': 9 digits with a Luhn key.", "siren-invalid")
            elif check_siret(value):
                self.fail("value", where, f"SIRET invalide « {value[:20]} » : 14 chiffres dont une clé de Luhn.",
                          f"Invalid SIRET '{value[:20]}': {check_siret(value)}.", "siret-invalid")
        elif ident.system in INS_SYSTEMS and check_nir(value):
            self.fail("value", where, f"INS invalide « {value[:20]} » : 15 caractères dont une clé de contrôle.",
                      f"Invalid INS '{value[:20]}': {check_nir(value)}.", "ins-invalid")

    # -- the resources each event needs --------------------------------------------------------------------
    def worker(self, reference: str | None, where: str, required: bool) -> Entry | None:
        entry = self.bundle.resolve(reference)
        if entry is None or entry.type != "Patient":
            if required:
                self.fail("required", where, "Le salarié (Patient) est requis et doit être dans le Bundle.",
                          "The worker (a Patient in the Bundle) is required.", "worker-missing")
            return None
        patient = entry.model
        names = patient.name or []
        if not names or not names[0].family:
            self.fail("required", "Patient.name.family", "Indiquez le nom de naissance du salarié.",
                      "Give the worker's (birth) family name.", "worker-name-missing")
        if patient.birthDate is None:
            self.fail("required", "Patient.birthDate", "Indiquez la date de naissance du salarié.",
                      "Give the worker's birth date.", "worker-birthdate-missing")
        return entry

    def requester(self, reference: str | None, where: str, required: bool) -> Entry | None:
        entry = self.bundle.resolve(reference)
        if entry is None or entry.type not in REQUESTER_TYPES:
            if required or reference:
                self.fail("required", where, "Le demandeur doit être un Practitioner, un Patient ou une "
                          "Organization du Bundle.", "The requester must be a Practitioner, Patient or "
                          "Organization of the Bundle.", "requester-missing")
            return None
        if entry.type == "Practitioner" and not any(
                i.system == RPPS for i in (entry.model.identifier or [])):
            self.fail("required", "Practitioner.identifier", f"Le praticien demandeur doit être identifié par son "
                      f"RPPS (système {RPPS}).", f"The requesting practitioner needs an RPPS identifier ({RPPS}).",
                      "rpps-missing")
        return entry

    def employer(self, worker: Entry | None, required: bool) -> Entry | None:
        if worker is None:
            return None
        for contact in worker.model.contact or []:
            if any(has_code(rel, V2_0131, "E") for rel in contact.relationship or []):
                org = self.bundle.resolve(contact.organization.reference if contact.organization else None)
                if org is None or org.type != "Organization":
                    self.fail("required", "Patient.contact.organization", "Le contact employeur (E) doit désigner "
                              "une Organization du Bundle.", "The employer contact (E) must name an "
                              "Organization of the Bundle.", "employer-unresolved")
                    return None
                if not any(i.system == SIRENE for i in (org.model.identifier or [])) and required:
                    self.fail("required", "Organization.identifier", f"Indiquez le SIRET de l'employeur "
                              f"(système {SIRENE}).", f"Give the employer's SIRET (system {SIRENE}).",
                              "employer-siret-missing")
                return org
        if required:
            self.fail("required", "Patient.contact", "Indiquez l'employeur du salarié : Patient.contact avec la "
                      "relation E (v2-0131) et une Organization portant son SIRET.",
                      "Name the worker's employer: Patient.contact with relationship E (v2-0131) and an "
                      "Organization with its SIRET.", "employer-missing")
        return None

    def stoppage(self, focus: Entry, required: bool) -> Entry | None:
        found = [e for e in self.bundle.of_type("Observation") if has_code(e.model.code, OBSERVATION, WORK_STOPPAGE)]
        if not found:
            if required:
                self.fail("required", "ServiceRequest.supportingInfo", "L'arrêt de travail est requis : une "
                          f"Observation {OBSERVATION}#{WORK_STOPPAGE} référencée par ServiceRequest.supportingInfo.",
                          f"The sick leave is required: an Observation {OBSERVATION}#{WORK_STOPPAGE} referenced "
                          "from ServiceRequest.supportingInfo.", "stoppage-missing")
            return None
        entry = found[0]
        if focus.type == "ServiceRequest":
            refs = [self.bundle.resolve(r.reference) for r in (focus.model.supportingInfo or [])]
            if not any(r is entry for r in refs):
                self.fail("required", "ServiceRequest.supportingInfo", "L'Observation de l'arrêt de travail doit "
                          "être référencée par ServiceRequest.supportingInfo.", "The work-stoppage Observation "
                          "must be referenced from ServiceRequest.supportingInfo.", "stoppage-not-referenced")
        period = entry.model.effectivePeriod
        if period is None or period.start is None:
            self.fail("required", "Observation.effectivePeriod.start", "Indiquez la date de début de l'arrêt "
                      "(effectivePeriod.start).", "Give the start of the sick leave (effectivePeriod.start).",
                      "stoppage-start-missing")
        cause = [c.code for c in codings(entry.model.valueCodeableConcept) if c.system == STOPPAGE_CAUSE]
        if not cause or cause[0] not in STOPPAGE_CAUSES:
            self.fail("required", "Observation.valueCodeableConcept", f"Indiquez la cause de l'arrêt "
                      f"(système {STOPPAGE_CAUSE} : {', '.join(STOPPAGE_CAUSES)}).",
                      f"Give the cause of the leave (system {STOPPAGE_CAUSE}: {', '.join(STOPPAGE_CAUSES)}).",
                      "stoppage-cause-missing")
        return entry

    def consent(self, worker: Entry | None) -> Entry | None:
        consents = self.bundle.of_type("Consent")
        if not consents:
            return None
        entry = consents[0]
        patient = self.bundle.resolve(entry.model.patient.reference if entry.model.patient else None)
        if worker is not None and patient is not worker:
            self.fail("invalid", "Consent.patient", "Le consentement doit désigner le salarié concerné "
                      "(Consent.patient).", "Consent.patient must name the worker of the request.",
                      "consent-patient")
        return entry

    def text(self, focus: Entry) -> None:
        if not any(p.contentString for p in (focus.model.payload or [])):
            self.fail("required", "Communication.payload", "Le message doit contenir un texte "
                      "(Communication.payload.contentString).", "The message needs a text "
                      "(Communication.payload.contentString).", "text-missing")


def check_profile(bundle: MessageBundle) -> MessageView:
    checker = _Checker(bundle)
    head = checker.header()
    checker.references()
    checker.identifiers()
    if head is None:
        raise FhirError(422, checker.issues)
    event, header_id, focus = head
    view = MessageView(event=event, header_id=header_id, focus=focus)
    model = focus.model
    if focus.type == "ServiceRequest":
        view.worker = checker.worker(model.subject.reference if model.subject else None, "ServiceRequest.subject",
                                     True)
        view.requester = checker.requester(model.requester.reference if model.requester else None,
                                           "ServiceRequest.requester", True)
        view.employer = checker.employer(view.worker, event == "pdp-referral")
        view.stoppage = checker.stoppage(focus, event == "pre-return-visit-request")
        view.consent = checker.consent(view.worker)
    elif event == "coordination-request":
        view.worker = checker.worker(model.subject.reference if model.subject else None, "Communication.subject",
                                     True)
        view.requester = checker.requester(model.sender.reference if model.sender else None,
                                           "Communication.sender", False)
        view.employer = checker.employer(view.worker, False)
        view.stoppage = checker.stoppage(focus, False)
        view.consent = checker.consent(view.worker)
        checker.text(focus)
    else:  # reply
        refs = [r.reference for r in (model.basedOn or []) + (model.partOf or [])]
        tasks = [t for t in (task_id_of(r) for r in refs) if t]
        if not tasks:
            checker.fail("required", "Communication.basedOn", "Une réponse doit désigner la demande (Task/<id>) "
                         "dans Communication.basedOn.", "A reply must name its request (Task/<id>) in "
                         "Communication.basedOn.", "reply-task-missing")
        else:
            view.task_id = tasks[0]
        view.requester = checker.requester(model.sender.reference if model.sender else None,
                                           "Communication.sender", False)
        checker.text(focus)
    if checker.issues:
        raise FhirError(422, checker.issues)
    return view
