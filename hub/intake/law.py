"""The legal rules every channel enforces before a request is accepted (see ``shared/DOMAIN.md``).

Contract: ``check_request(draft, today)`` returns the list of :class:`Violation` (empty when the request may be
accepted). Each violation names the logical field it is about (``requester.kind``, ``stoppage.start``,
``stoppage.end``, ``consent``…), so a form can show it next to the field and the FHIR API can point an
OperationOutcome ``expression`` at the matching element; messages are given in French and English.

Rules:
- pré-reprise (L4624-2-4, R4624-29): asked by the worker, the médecin traitant, the médecin conseil or the
  médecin du travail — never the employer (told what it can do instead); during an arrêt de travail of more than
  30 days (more than 3 months for an arrêt that started before 2022-04-01).
- sharing health data with the SPSTI needs the worker's prior consent (L1110-4 CSP): a request made by someone
  else than the worker carries a consent statement (permit, dated, not in the future).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hub.intake.drafts import RequestDraft, WorkStoppage

PRE_RETURN_REQUESTERS = ("worker", "gp", "medecin_conseil", "mdt")
REFORM_DATE = date(2022, 4, 1)
EMPLOYER_ALTERNATIVES_FR = (
    "L'employeur ne peut pas demander de visite de pré-reprise (article L4624-2-4 du code du travail). "
    "Il peut informer le salarié qu'il a la possibilité de la demander lui-même ou par son médecin traitant, "
    "organiser un rendez-vous de liaison (article L1226-1-3) ou, au retour du salarié, demander la visite de "
    "reprise."
)
EMPLOYER_ALTERNATIVES_EN = (
    "An employer cannot request a pre-return visit (Labour Code L4624-2-4). It may tell the worker that they can "
    "ask for it themselves or through their GP, arrange a liaison meeting (L1226-1-3), or request the return-to-"
    "work visit when the worker comes back."
)


@dataclass(frozen=True)
class Violation:
    field: str
    code: str
    fr: str
    en: str


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def stoppage_long_enough(stoppage: WorkStoppage, today: date) -> bool:
    """More than 30 days (more than 3 months before the 2022 reform), counted to the expected end, else today."""
    last_day = stoppage.end or today
    if stoppage.start < REFORM_DATE:
        return last_day >= add_months(stoppage.start, 3)
    return (last_day - stoppage.start).days + 1 > 30


def check_pre_return(draft: RequestDraft, today: date) -> list[Violation]:
    out: list[Violation] = []
    kind = draft.requester.kind
    if kind == "employer":
        out.append(Violation("requester.kind", "employer-cannot-request", EMPLOYER_ALTERNATIVES_FR,
                             EMPLOYER_ALTERNATIVES_EN))
    elif kind not in PRE_RETURN_REQUESTERS:
        out.append(Violation(
            "requester.kind", "requester-not-allowed",
            "Seuls le salarié, son médecin traitant, le médecin conseil de l'assurance maladie ou le médecin du "
            "travail peuvent demander une visite de pré-reprise (article L4624-2-4 du code du travail).",
            "Only the worker, their GP, the health-insurance medical adviser or the occupational physician may "
            "request a pre-return visit (Labour Code L4624-2-4)."))
    stoppage = draft.stoppage
    if stoppage is None:
        out.append(Violation("stoppage.start", "stoppage-missing",
                             "Indiquez la date de début de l'arrêt de travail : la visite de pré-reprise suppose "
                             "un arrêt de plus de 30 jours.",
                             "Give the start date of the sick leave: a pre-return visit requires a leave of more "
                             "than 30 days."))
        return out
    if stoppage.end is not None and stoppage.end < stoppage.start:
        out.append(Violation("stoppage.end", "end-before-start",
                             "La date de fin prévue de l'arrêt est antérieure à sa date de début.",
                             "The expected end of the leave is before its start."))
        return out
    if stoppage.start > today:
        out.append(Violation("stoppage.start", "start-in-future",
                             "La date de début de l'arrêt est dans le futur.", "The leave starts in the future."))
        return out
    if stoppage.end is not None and stoppage.end < today:
        out.append(Violation("stoppage.end", "stoppage-over",
                             "L'arrêt est terminé : la visite de pré-reprise a lieu pendant l'arrêt. Après le "
                             "retour au travail, c'est la visite de reprise qu'il faut demander.",
                             "The leave is over: a pre-return visit takes place during the leave; after the "
                             "return, request the return-to-work visit."))
    if not stoppage_long_enough(stoppage, today):
        if stoppage.start < REFORM_DATE:
            fr = ("Pour un arrêt commencé avant le 1er avril 2022, la visite de pré-reprise est réservée aux "
                  "arrêts de plus de 3 mois.")
            en = "For a leave that started before 2022-04-01, a pre-return visit requires more than 3 months."
        else:
            fr = ("La visite de pré-reprise est réservée aux arrêts de travail de plus de 30 jours (article "
                  "R4624-29 du code du travail). Indiquez la date de fin prévue si l'arrêt doit dépasser 30 jours.")
            en = ("A pre-return visit requires a sick leave of more than 30 days (Labour Code R4624-29); give the "
                  "expected end date if the leave will exceed 30 days.")
        out.append(Violation("stoppage.end" if stoppage.end else "stoppage.start", "stoppage-too-short", fr, en))
    return out


def check_consent(draft: RequestDraft, today: date) -> list[Violation]:
    if draft.event == "reply" or draft.requester.kind == "worker":
        return []
    consent = draft.consent
    if consent is None or consent.decision != "permit":
        return [Violation("consent", "consent-missing",
                          "Le consentement préalable du salarié à cet échange est requis (article L1110-4 du code "
                          "de la santé publique) : indiquez qu'il a été recueilli et à quelle date.",
                          "The worker's prior consent to this exchange is required (Public Health Code L1110-4): "
                          "state that it was obtained, and when.")]
    if consent.given_on is None:
        return [Violation("consent.date", "consent-date-missing", "Indiquez la date du consentement du salarié.",
                          "Give the date of the worker's consent.")]
    if consent.given_on > today:
        return [Violation("consent.date", "consent-date-future", "La date du consentement est dans le futur.",
                          "The consent date is in the future.")]
    return []


def check_request(draft: RequestDraft, today: date) -> list[Violation]:
    out: list[Violation] = []
    if draft.event == "pre-return-visit-request":
        out += check_pre_return(draft, today)
    if draft.event in ("pre-return-visit-request", "pdp-referral", "coordination-request"):
        out += check_consent(draft, today)
    return out
