"""The legal rules every channel enforces before a request is accepted (see ``shared/DOMAIN.md``).

Contract: ``check_request(draft, today)`` runs the rules of ``RULES`` in order and returns the list of
:class:`Violation` (empty when the request may be accepted); ``ON_VIOLATION[channel]`` (beside the rule order) says
what a violation does: ``refuse`` (forms, FHIR API: the sender corrects and re-sends) or ``triage`` (email,
MSSanté: the message is already here, so the request is kept, the reasons recorded, and a human sorts it).
``hub.intake`` enforces both; a connector may pre-check to place its errors, never instead of the core.
Each violation names the logical field it is about, so a form can show it next to the field and the FHIR API can
point an OperationOutcome ``expression`` at the matching element; messages are in French and English.
Field names used: ``event``, ``requester.kind``, ``requester.rpps``, ``stoppage.start``, ``stoppage.end``,
``stoppage.cause``, ``consent``, ``consent.date``, ``consent.channel``.

Rules:
- pré-reprise (L4624-2-4, R4624-29, R4624-30): asked by the worker, the médecin traitant, the médecin conseil or
  the médecin du travail — never the employer (told what it can do instead); during an absence caused by illness
  or accident (any cause but maternity) of more than 30 days — more than 3 months for an arrêt that started
  before 2022-04-01 (décret 2022-372) —, counted day by day from the start to the expected end (inclusive), or to
  today when no end is given; the arrêt must have started and not be over.
- an arrêt given with any request: a known cause, an end not before its start, a start not in the future.
- a physician requester's RPPS, when given, has 11 digits and a valid Luhn key.
- sharing health data with the SPSTI needs the worker's prior consent (L1110-4 CSP): the worker's own request is
  their consent; a request made by anyone else carries a consent statement (permit, dated, not in the future,
  with the channel it was collected by).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from hub.identifiers import check_rpps
from hub.intake.drafts import EVENTS, REQUESTER_KINDS, STOPPAGE_CAUSES, RequestDraft, WorkStoppage

PRE_RETURN_REQUESTERS = ("worker", "gp", "medecin_conseil", "mdt")
PRE_RETURN_CAUSES = ("illness", "work-accident", "occupational-disease")
CONSENT_EVENTS = ("pre-return-visit-request", "pdp-referral", "coordination-request")
CONSENT_CHANNELS = ("web", "email", "fhir", "oral", "paper")
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
    """``day`` plus ``months`` calendar months, clamped to the last day of a shorter month."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def stoppage_days(stoppage: WorkStoppage, today: date) -> int:
    """Length of the arrêt in days, both ends included, to the expected end (else today)."""
    return ((stoppage.end or today) - stoppage.start).days + 1


def stoppage_long_enough(stoppage: WorkStoppage, today: date) -> bool:
    """More than 30 days (more than 3 months for an arrêt that started before 2022-04-01)."""
    last_day = stoppage.end or today
    if stoppage.start < REFORM_DATE:
        # "more than 3 months": the day after the last day is past start + 3 months
        return last_day >= add_months(stoppage.start, 3)
    return stoppage_days(stoppage, today) > 30


def check_event(draft: RequestDraft) -> list[Violation]:
    out: list[Violation] = []
    if draft.event not in EVENTS:
        out.append(Violation("event", "unknown-event", f"Type de demande inconnu : « {draft.event} ».",
                             f"Unknown request type '{draft.event}'."))
    if draft.requester.kind not in REQUESTER_KINDS:
        out.append(Violation("requester.kind", "requester-unknown",
                             "Indiquez qui fait la demande (salarié, médecin, employeur, partenaire…).",
                             "Say who makes the request (worker, physician, employer, partner…)."))
    rpps = draft.requester.rpps
    if rpps and check_rpps(rpps) is not None:
        out.append(Violation("requester.rpps", "rpps-invalid",
                             "Le numéro RPPS n'est pas valide : il compte 11 chiffres, dont une clé de contrôle. "
                             "Vérifiez-le sur votre carte CPS.",
                             "The RPPS number is not valid (11 digits including a Luhn check digit)."))
    return out


def check_stoppage(stoppage: WorkStoppage | None, today: date) -> list[Violation]:
    """Consistency of an arrêt given with any request."""
    if stoppage is None:
        return []
    out: list[Violation] = []
    if stoppage.cause not in STOPPAGE_CAUSES:
        out.append(Violation("stoppage.cause", "cause-unknown",
                             "Indiquez le motif de l'arrêt : maladie, accident du travail, maladie professionnelle "
                             "ou maternité.",
                             "Give the cause of the leave: illness, work accident, occupational disease or "
                             "maternity."))
    if stoppage.start > today:
        out.append(Violation("stoppage.start", "start-in-future",
                             "La date de début de l'arrêt est dans le futur.", "The leave starts in the future."))
    if stoppage.end is not None and stoppage.end < stoppage.start:
        out.append(Violation("stoppage.end", "end-before-start",
                             "La date de fin prévue de l'arrêt est antérieure à sa date de début.",
                             "The expected end of the leave is before its start."))
    return out


def check_pre_return(draft: RequestDraft, today: date) -> list[Violation]:
    out: list[Violation] = []
    kind = draft.requester.kind
    if kind == "employer":
        out.append(Violation("requester.kind", "employer-cannot-request", EMPLOYER_ALTERNATIVES_FR,
                             EMPLOYER_ALTERNATIVES_EN))
    elif kind in REQUESTER_KINDS and kind not in PRE_RETURN_REQUESTERS:
        out.append(Violation(
            "requester.kind", "requester-not-allowed",
            "Seuls le salarié, son médecin traitant, le médecin conseil de l'assurance maladie ou le médecin du "
            "travail peuvent demander une visite de pré-reprise (article R4624-29 du code du travail). Pour "
            "signaler une situation à la cellule de prévention de la désinsertion professionnelle, faites une "
            "saisine de la cellule PDP.",
            "Only the worker, their GP, the health-insurance medical adviser or the occupational physician may "
            "request a pre-return visit (Labour Code R4624-29); others may refer the case to the job-retention "
            "cell."))
    stoppage = draft.stoppage
    if stoppage is None:
        out.append(Violation("stoppage.start", "stoppage-missing",
                             "Indiquez la date de début de l'arrêt de travail : la visite de pré-reprise suppose "
                             "un arrêt de plus de 30 jours.",
                             "Give the start date of the sick leave: a pre-return visit requires a leave of more "
                             "than 30 days."))
        return out
    if stoppage.cause == "maternity":
        out.append(Violation("stoppage.cause", "cause-not-eligible",
                             "La visite de pré-reprise concerne un arrêt pour maladie ou accident (article "
                             "L4624-2-4 du code du travail), pas le congé de maternité. Au retour d'un congé de "
                             "maternité, c'est une visite de reprise qui est organisée.",
                             "A pre-return visit follows a leave for illness or accident (L4624-2-4), not "
                             "maternity leave; after maternity leave a return-to-work visit is held."))
    dates = check_stoppage(stoppage, today)
    out += dates
    if any(v.code in ("start-in-future", "end-before-start") for v in dates):
        return out
    if stoppage.end is not None and stoppage.end < today:
        out.append(Violation("stoppage.end", "stoppage-over",
                             "L'arrêt est terminé : la visite de pré-reprise a lieu pendant l'arrêt. Après le "
                             "retour au travail, c'est la visite de reprise qu'il faut demander.",
                             "The leave is over: a pre-return visit takes place during the leave; after the "
                             "return, request the return-to-work visit."))
        return out
    if not stoppage_long_enough(stoppage, today):
        days = stoppage_days(stoppage, today)
        if stoppage.start < REFORM_DATE:
            fr = ("Pour un arrêt commencé avant le 1er avril 2022, la visite de pré-reprise est réservée aux "
                  "arrêts de plus de 3 mois.")
            en = "For a leave that started before 2022-04-01, a pre-return visit requires more than 3 months."
        else:
            counted = "jusqu'à sa date de fin prévue" if stoppage.end else "à ce jour"
            fr = (f"La visite de pré-reprise est réservée aux arrêts de travail de plus de 30 jours (article "
                  f"R4624-29 du code du travail) ; cet arrêt compte {days} jour{'s' if days > 1 else ''} "
                  f"{counted}. Indiquez la date de fin prévue si l'arrêt doit dépasser 30 jours.")
            en = ("A pre-return visit requires a sick leave of more than 30 days (Labour Code R4624-29); give the "
                  "expected end date if the leave will exceed 30 days.")
        out.append(Violation("stoppage.end" if stoppage.end else "stoppage.start", "stoppage-too-short", fr, en))
    return out


def check_consent(draft: RequestDraft, today: date) -> list[Violation]:
    """The worker's own request is their consent; anyone else declares a dated, permitting consent."""
    if draft.event not in CONSENT_EVENTS or draft.requester.kind == "worker":
        return []
    consent = draft.consent
    if consent is None or consent.decision != "permit":
        return [Violation("consent", "consent-missing",
                          "Le consentement préalable du salarié à cet échange est requis (article L1110-4 du code "
                          "de la santé publique) : indiquez qu'il a été recueilli, à quelle date et comment.",
                          "The worker's prior consent to this exchange is required (Public Health Code L1110-4): "
                          "state that it was obtained, when and how.")]
    out: list[Violation] = []
    if consent.given_on is None:
        out.append(Violation("consent.date", "consent-date-missing", "Indiquez la date du consentement du salarié.",
                             "Give the date of the worker's consent."))
    elif consent.given_on > today:
        out.append(Violation("consent.date", "consent-date-future", "La date du consentement est dans le futur.",
                             "The consent date is in the future."))
    if consent.channel not in CONSENT_CHANNELS:
        out.append(Violation("consent.channel", "consent-channel-unknown",
                             "Indiquez comment le consentement a été recueilli (oralement, par écrit, par courriel, "
                             "en ligne).",
                             "Say how the consent was collected (oral, paper, email, web, fhir)."))
    return out


class Rule(Protocol):
    """One legal rule: the violations of ``draft`` on ``today`` (empty when it complies)."""

    def __call__(self, draft: RequestDraft, today: date) -> list[Violation]: ...


def check_identity(draft: RequestDraft, today: date) -> list[Violation]:
    return check_event(draft)


def check_work_stoppage(draft: RequestDraft, today: date) -> list[Violation]:
    if draft.event == "pre-return-visit-request":
        return check_pre_return(draft, today)
    return check_stoppage(draft.stoppage, today)


# The rule order, and what a violation does on each channel (the one table to read).
RULES: tuple[Rule, ...] = (check_identity, check_work_stoppage, check_consent)
REFUSE, TRIAGE, RECORD = "refuse", "triage", "record"
ON_VIOLATION: dict[str, str] = {"form": REFUSE, "fhir": REFUSE, "email": TRIAGE, "mssante": TRIAGE}
# On a triage channel the draft is read from free text, where "not found" is not "not given": these are recorded
# for the physician (routing decision facts) without sending the request to triage.
NOT_FOUND_IN_TEXT = ("consent-missing", "consent-date-missing", "stoppage-missing")


def consequence(channel: str, violation: Violation | None = None) -> str:
    """What a violation does on ``channel`` (an unknown channel refuses: the safe side)."""
    policy = ON_VIOLATION.get(channel, REFUSE)
    if policy == TRIAGE and violation is not None and violation.code in NOT_FOUND_IN_TEXT:
        return RECORD
    return policy


def check_request(draft: RequestDraft, today: date) -> list[Violation]:
    """Every rule that applies to ``draft`` on ``today``; empty when the request may be accepted."""
    out: list[Violation] = []
    for rule in RULES:
        out += rule(draft, today)
    return out
