"""The two emails of a secure pickup, in French, with no health data: the link, then the one-time code.

Contract: ``link_email(settings, to, reference, token, expires, kind)`` (``kind``: the waiting message's, a
``reply``/``info-request`` or a ``recommendation`` letter) and ``code_email(settings, to, reference, code,
minutes)`` return an :class:`~hub.outbox.OutboundEmail`; the caller queues it. Neither names the worker, the
physician's text, nor anything from the file but its reference.
"""

from __future__ import annotations

from datetime import datetime

from hub import clock
from hub.config import Settings
from hub.outbox import OutboundEmail

SIGNATURE = "Guichet unique santé au travail"


WAITING = {"recommendation": ("Des recommandations du médecin du travail vous attendent",
                              "Des recommandations vous attendent")}


def link_email(settings: Settings, to: str, reference: str, token: str, expires: datetime, kind: str = "reply"
               ) -> OutboundEmail:
    link = f"{settings.base_url}/retrait/{token}"
    waiting, subject = WAITING.get(kind, ("Une réponse du service de prévention et de santé au travail vous attend",
                                          "Une réponse vous attend"))
    text = (f"Bonjour,\n\n{waiting} (référence "
            f"{reference}).\n\nPour la lire, ouvrez ce lien : {link}\n\nPar sécurité, ce courriel ne contient "
            "aucune information médicale. La page vous demandera un code à usage unique, que vous recevrez dans "
            "un second courriel. Vous pourrez y répondre dans le même dossier.\n\n"
            f"Ce lien est valable jusqu'au {clock.fr_date(expires)}.\n\n{SIGNATURE}\n")
    return OutboundEmail(to=[to], subject=f"[{reference}] {subject} sur le guichet", text=text,
                         from_addr=settings.address, headers={"Auto-Submitted": "auto-generated"})


def code_email(settings: Settings, to: str, reference: str, code: str, minutes: int) -> OutboundEmail:
    text = (f"Bonjour,\n\nVotre code à usage unique pour lire la réponse (référence {reference}) : {code}\n\n"
            f"Il est valable {minutes} minutes. Si vous n'avez rien demandé, ignorez ce message.\n\n{SIGNATURE}\n")
    return OutboundEmail(to=[to], subject=f"[{reference}] Votre code de retrait", text=text,
                         from_addr=settings.address, headers={"Auto-Submitted": "auto-generated"})
