"""The FHIR Task state machine of the inbox: which action is allowed from which status, and where it leads.

Contract (read by the inbox and the FHIR API alike):
- ``STATUSES``: the Task statuses; ``OPEN`` and ``CLOSED`` partition them; ``BOXES`` maps an inbox box to statuses.
- ``next_status(action, status, outcome=None)`` returns ``(new_status, business_status)`` or raises
  :class:`~hub.inbox.errors.Conflict` with a French sentence naming the action and the current status.
  ``business_status`` ``None`` means "clear it"; ``KEEP`` means "leave it as it is".
- Actions: ``open`` (an owner reads it: requested → received), ``accept`` (→ accepted), ``reply``
  (→ in-progress), ``ask-info`` (→ on-hold, business status ``waiting-for-sender``), ``reassign`` (accepted →
  received, the new owner has not accepted yet; other open statuses unchanged), ``close`` (→ completed, rejected
  or cancelled; business status = the outcome). Nothing is allowed on a closed request.
"""

from __future__ import annotations

from typing import Final

from hub.inbox.errors import Conflict, Invalid
from hub.store.models.messaging import CLOSED_STATUSES, TASK_STATUSES

STATUSES: Final = TASK_STATUSES
CLOSED: Final = CLOSED_STATUSES
OPEN: Final = tuple(s for s in TASK_STATUSES if s not in CLOSED_STATUSES)
WAITING_FOR_SENDER: Final = "waiting-for-sender"
KEEP: Final = "\x00keep"

BOXES: Final[dict[str, tuple[str, ...]]] = {
    "todo": ("requested", "received", "accepted"),
    "in-progress": ("in-progress",),
    "waiting": ("on-hold",),
    "closed": CLOSED_STATUSES,
    "triage": OPEN,
}
BOX_LABELS: Final = {"todo": "À traiter", "in-progress": "En cours", "waiting": "En attente de l'expéditeur",
                     "closed": "Clos", "triage": "File de tri"}
STATUS_LABELS: Final = {
    "requested": "Nouvelle", "received": "Reçue", "accepted": "Acceptée", "in-progress": "En cours",
    "on-hold": "En attente de l'expéditeur", "completed": "Terminée", "rejected": "Refusée", "cancelled": "Annulée",
}
# close outcomes: the Task status and the business statuses (outcome details) allowed with it
OUTCOMES: Final[dict[str, dict[str, str]]] = {
    "completed": {"completed": "Traitée", "answered": "Réponse apportée", "visit-scheduled": "Visite programmée",
                  "pdp-opened": "Prise en charge par la cellule PDP",
                  "transmitted": "Transmise (au médecin, à l'équipe)"},
    "rejected": {"rejected": "Refusée", "out-of-scope": "Hors du champ de la santé au travail",
                 "no-consent": "Consentement du salarié absent"},
    "cancelled": {"cancelled": "Annulée", "duplicate": "Doublon", "withdrawn": "Retirée par l'expéditeur"},
}
ACTION_LABELS: Final = {"open": "ouvrir", "accept": "accepter", "reply": "répondre à",
                        "ask-info": "demander des précisions sur", "reassign": "réaffecter", "close": "clore"}
_FROM: Final[dict[str, tuple[str, ...]]] = {
    "open": ("requested",),
    "accept": ("requested", "received"),
    "reply": OPEN,
    "ask-info": OPEN,
    "reassign": OPEN,
    "close": OPEN,
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def allowed(action: str, status: str) -> bool:
    return status in _FROM.get(action, ())


def next_status(action: str, status: str, outcome: str | None = None,
                business_status: str | None = None) -> tuple[str, str | None]:
    """The status after ``action`` (see the module contract); raises ``Conflict``/``Invalid`` in French."""
    if action not in _FROM:
        raise Invalid(f"Action inconnue : « {action} ».")
    if not allowed(action, status):
        if status in CLOSED:
            why = f"la demande est close ({status_label(status).lower()})"
        else:
            why = f"son statut est « {status_label(status)} »"
        raise Conflict(f"Impossible de {ACTION_LABELS[action]} cette demande : {why}.")
    if action == "open":
        return "received", KEEP
    if action == "accept":
        return "accepted", None
    if action == "reply":
        return "in-progress", None
    if action == "ask-info":
        return "on-hold", WAITING_FOR_SENDER
    if action == "reassign":
        return ("received" if status == "accepted" else status), KEEP
    # close
    if outcome not in OUTCOMES:
        raise Invalid("Issue de clôture invalide : attendu « completed », « rejected » ou « cancelled ».")
    detail = business_status or outcome
    if detail not in OUTCOMES[outcome]:
        raise Invalid(f"Motif de clôture « {detail} » invalide pour l'issue « {outcome} » (attendus : "
                      f"{', '.join(OUTCOMES[outcome])}).")
    return outcome, detail
