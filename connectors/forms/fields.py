"""Posted form fields → a ``RequestDraft``, or the French errors to show next to each field.

Contract: ``build_draft(spec, fields, files, today, key)`` checks the form itself (required fields, dates,
addresses, SIRET and RPPS keys, INS key), builds the draft and runs the shared legal rules
(``hub.intake.law.check_request``) on it; it returns ``(draft, errors)`` where ``errors`` maps an HTML field name
to its messages (empty when the draft may be submitted). A legal rule's ``Violation.field`` (``stoppage.start``)
is shown on the input of the same name with the dot as an underscore (``stoppage_start``). An employer asking for
a pré-reprise gets only the legal explanation, not a list of fields to fill in for nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from hub.identifiers import check_nir, check_rpps, check_siret, clean_digits
from hub.intake import (
    AttachmentDraft,
    ConsentStatement,
    EmployerRef,
    Person,
    RequestDraft,
    Requester,
    WorkStoppage,
)
from hub.intake.law import Violation, check_request

PHYSICIANS = ("gp", "specialist", "medecin_conseil")
CAUSES = (("illness", "Maladie ou accident non professionnel"), ("work-accident", "Accident du travail"),
          ("occupational-disease", "Maladie professionnelle"), ("maternity", "Congé de maternité"))
CONSENT_CHANNELS = (("oral", "Oralement"), ("paper", "Par écrit (papier)"), ("email", "Par courriel"),
                    ("web", "En ligne"))
PARTNERS = (("cap_emploi", "Cap emploi"), ("carsat", "Service social de la CARSAT"), ("cpam", "CPAM"),
            ("autre", "Autre organisme"))
EMAIL_RE = re.compile(r"[^@\s<>\"']{1,64}@[^@\s<>\"']{1,190}\.[^@\s<>\"'.]{2,}")
MAX_REASON = 5000
Errors = dict[str, list[str]]


@dataclass(frozen=True)
class FormSpec:
    """What differs between the two forms."""

    slug: str
    event: str
    title: str
    subject: str
    kinds: tuple[tuple[str, str], ...]
    reason_required: bool
    stoppage_required: bool


PDP = FormSpec(
    slug="saisine-pdp", event="pdp-referral", title="Saisir la cellule de prévention de la désinsertion "
    "professionnelle (PDP)", subject="Saisine de la cellule PDP",
    kinds=(("worker", "Je suis le salarié ou la salariée concerné(e)"),
           ("gp", "Médecin traitant"), ("specialist", "Médecin spécialiste"), ("employer", "Employeur"),
           ("partner", "Partenaire du maintien en emploi (Cap emploi, service social de la CARSAT, CPAM)"),
           ("medecin_conseil", "Médecin conseil de l'assurance maladie"), ("other", "Autre")),
    reason_required=True, stoppage_required=False)
PRE_RETURN = FormSpec(
    slug="demande-pre-reprise", event="pre-return-visit-request", title="Demander une visite de pré-reprise",
    subject="Demande de visite de pré-reprise",
    kinds=(("worker", "Je suis le salarié ou la salariée en arrêt de travail"), ("gp", "Médecin traitant"),
           ("medecin_conseil", "Médecin conseil de l'assurance maladie"), ("employer", "Employeur")),
    reason_required=False, stoppage_required=True)


def html_name(logical: str) -> str:
    """``stoppage.start`` → ``stoppage_start`` (the input's name; its id is ``f-`` + name)."""
    return logical.replace(".", "_")


def parse_date(value: str) -> date | None:
    """``AAAA-MM-JJ`` (a date input) or ``JJ/MM/AAAA`` (typed by hand); raises ValueError otherwise."""
    value = value.strip()
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", value)
    if m:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    return date.fromisoformat(value)


class _Checker:
    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        self.errors: Errors = {}

    def get(self, name: str, max_len: int = 200) -> str:
        return " ".join(self.fields.get(name, "").split())[:max_len]

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def required(self, name: str, message: str, max_len: int = 200) -> str:
        value = self.get(name, max_len)
        if not value:
            self.add(name, message)
        return value

    def day(self, name: str, label: str, required: bool) -> date | None:
        raw = self.get(name, 20)
        if not raw:
            if required:
                self.add(name, f"Indiquez {label}.")
            return None
        try:
            return parse_date(raw)
        except ValueError:
            self.add(name, f"{label[0].upper()}{label[1:]} n'est pas une date valide (format JJ/MM/AAAA).")
            return None

    def choice(self, name: str, options: tuple[tuple[str, str], ...], message: str) -> str:
        value = self.get(name, 40)
        if value not in {key for key, _ in options}:
            self.add(name, message)
            return ""
        return value


def _requester(c: _Checker, kind: str) -> Requester:
    third_party = kind not in ("worker", "")  # "": not said yet, its own error is shown
    name = (c.required("requester_name", "Indiquez votre nom et votre prénom.") if third_party
            else c.get("requester_name"))
    organisation = c.get("requester_organisation")
    if kind == "partner":
        partner = c.choice("requester_partner", PARTNERS, "Indiquez l'organisme partenaire.")
        label = dict(PARTNERS).get(partner, "")
        organisation = organisation or (label if partner != "autre" else "")
    email = c.get("requester_email", 254)
    if email and not EMAIL_RE.fullmatch(email):
        c.add("requester_email", "L'adresse électronique n'est pas valide (exemple : nom@domaine.fr).")
    phone = c.get("requester_phone", 30)
    if phone:
        digits = re.sub(r"[\s.\-()]", "", phone)
        if not re.fullmatch(r"\+?\d{10,15}", digits):
            c.add("requester_phone", "Le numéro de téléphone n'est pas valide (10 chiffres, exemple : "
                                     "02 40 00 00 00).")
    if not email and not phone:
        c.add("requester_email", "Indiquez une adresse électronique ou un numéro de téléphone pour que le service "
                                 "puisse vous joindre.")
    rpps = clean_digits(c.get("requester_rpps", 20)) or None
    if kind in PHYSICIANS:
        if not rpps:
            c.add("requester_rpps", "Indiquez votre numéro RPPS (11 chiffres, sur votre carte CPS).")
        elif check_rpps(rpps) is not None:
            c.add("requester_rpps", "Le numéro RPPS n'est pas valide : il compte 11 chiffres, dont une clé de "
                                    "contrôle. Vérifiez-le sur votre carte CPS.")
            rpps = None
    else:
        rpps = None
    return Requester(kind=kind, name=name, email=email or None, phone=phone or None, rpps=rpps,
                     organisation=organisation or None)


def _worker(c: _Checker, today: date) -> Person:
    family = c.required("worker_family_name", "Indiquez le nom de naissance du salarié.", 100)
    given = c.required("worker_given_names", "Indiquez le ou les prénoms du salarié.", 150)
    born = c.day("worker_birth_date", "la date de naissance du salarié", required=True)
    if born is not None and not (date(today.year - 100, 1, 1) <= born <= date(today.year - 14, 12, 31)):
        c.add("worker_birth_date", "La date de naissance n'est pas plausible pour une personne qui travaille.")
    ins = clean_digits(c.get("worker_ins", 30)).upper() or None
    if ins and check_nir(ins) is not None:
        c.add("worker_ins", "Le numéro INS (numéro de sécurité sociale) n'est pas valide : il compte 15 caractères "
                            "dont une clé de 2 chiffres.")
        ins = None
    return Person(family_name=family, given_names=given, birth_date=born, ins=ins)


def _employer(c: _Checker) -> EmployerRef:
    siret = clean_digits(c.get("employer_siret", 30)) or None
    if siret and check_siret(siret) is not None:
        c.add("employer_siret", "Le numéro SIRET n'est pas valide : il compte 14 chiffres, dont une clé de "
                                "contrôle. Utilisez la recherche par nom et commune si besoin.")
        siret = None
    name = c.get("employer_name", 200)
    if not siret and not name and "employer_siret" not in c.errors:
        c.add("employer_siret", "Indiquez le numéro SIRET de l'employeur ou, à défaut, son nom.")
    place = c.get("employer_town", 80)
    postcode = place if re.fullmatch(r"\d{5}", place) else None
    return EmployerRef(siret=siret, name=name or None, postcode=postcode, town=None if postcode else place or None)


def _stoppage(c: _Checker, spec: FormSpec) -> WorkStoppage | None:
    if not spec.stoppage_required:
        has = c.choice("stoppage_has", (("oui", "oui"), ("non", "non")),
                       "Indiquez si le salarié est actuellement en arrêt de travail.")
        if has != "oui":
            return None
    start = c.day("stoppage_start", "la date de début de l'arrêt de travail", required=True)
    cause = c.choice("stoppage_cause", CAUSES, "Indiquez le motif de l'arrêt.")
    end = c.day("stoppage_end", "la date de fin prévue de l'arrêt", required=False)
    if start is None:
        return None
    return WorkStoppage(start=start, end=end, cause=cause or "illness")


def _consent(c: _Checker, kind: str, today: date) -> ConsentStatement | None:
    if kind == "worker":  # the worker's own submission is their consent
        return ConsentStatement(decision="permit", given_on=today, channel="web", declared_by="worker")
    if c.get("consent", 10) != "oui":
        return None
    given = c.day("consent_date", "la date à laquelle le salarié a donné son accord", required=True)
    channel = c.get("consent_channel", 20)
    return ConsentStatement(decision="permit", given_on=given, channel=channel, declared_by="third-party")


def build_draft(spec: FormSpec, fields: dict[str, str], files: list[AttachmentDraft], today: date, key: str
                ) -> tuple[RequestDraft | None, Errors]:
    c = _Checker(fields)
    kind = c.choice("requester_kind", spec.kinds, "Indiquez qui fait la demande.")
    if spec is PRE_RETURN and kind == "employer":
        c.errors.clear()
        draft = RequestDraft(event=spec.event, channel="form", source_key=f"form:{key}",
                             requester=Requester(kind="employer"))
        for v in check_request(draft, today):
            if v.field == "requester.kind":
                c.add("requester_kind", v.fr)
        return None, c.errors
    requester = _requester(c, kind)
    worker = _worker(c, today)
    if kind == "worker" and not requester.name:
        requester.name = f"{worker.given_names} {worker.family_name}".strip()
    employer = _employer(c)
    job = c.get("job", 200) or None
    stoppage = _stoppage(c, spec)
    reason = "\n".join(line.rstrip() for line in fields.get("reason", "").strip().splitlines())
    if len(reason) > MAX_REASON:
        c.add("reason", f"Le texte est trop long ({len(reason)} caractères, {MAX_REASON} au plus).")
    elif spec.reason_required and len(reason) < 10:
        c.add("reason", "Décrivez en quelques mots la situation et ce que vous attendez de la cellule PDP.")
    draft = RequestDraft(
        event=spec.event, channel="form", source_key=f"form:{key}", requester=requester, subject=spec.subject,
        reason=reason, worker=worker, employer=employer, job=job, stoppage=stoppage,
        consent=_consent(c, kind, today), attachments=list(files), trust="form",
        # the confirmation (reference, follow-up link) goes to requester.email, written by hub.notices
        extra={"form": spec.slug, **({"ins_status": "declared-unverified"} if worker.ins else {})})
    if not kind:  # every other field was checked; the legal rules depend on who asks
        return None, c.errors
    place_violations(c.errors, check_request(draft, today))
    return (None if c.errors else draft), c.errors


def place_violations(errors: dict[str, list[str]], violations: list[Violation]) -> dict[str, list[str]]:
    """Put each legal violation next to its field (or at the top of the form), once per field already checked."""
    checked_by_form = set(errors)
    for v in violations:
        name = html_name(v.field)
        name = name if name in _KNOWN else "form"
        if name not in checked_by_form:
            errors.setdefault(name, []).append(v.fr)
    return errors


_KNOWN = {"requester_kind", "requester_rpps", "stoppage_start", "stoppage_end", "stoppage_cause", "consent",
          "consent_date", "consent_channel"}
