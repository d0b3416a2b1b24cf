"""The consent vocabulary (DESIGN "Consent"): purposes, decisions, channels, and what each purpose requires.

Contract: ``PURPOSES`` and ``DECISIONS`` are the public names; ``POLICY[purpose]`` says whether the purpose needs
the worker's prior consent (``"opt-in"``: sharing with a GP, a CPTS/DAC, a PDP referral — L1110-4 CSP) or goes
ahead unless the worker objected (``"opt-out"``: pré-reprise recommendations — R4624-30). ``allows(purpose,
decision)`` applies that table; ``reply_purpose(event, requester_kind, channel)`` names the purpose a reply to a
request's sender serves (``None``: the worker themselves, no third party): a GP or another physician
``exchange-gp``, a CPTS/DAC (or anyone through the FHIR API) ``exchange-cpts-dac``, a job-retention partner or
the employer of a PDP referral ``pdp-referral``. ``request_purposes(event, requester_kind, channel)``: every purpose
that may let a request's content leave (the thread page shows their state). French labels for what users read.
"""

from __future__ import annotations

PURPOSES = ("exchange-gp", "exchange-cpts-dac", "pdp-referral", "recommendations-employer",
            "recommendations-medecin-conseil")
DECISIONS = ("consent", "objection", "withdrawn")
CHANNELS = ("form", "api", "email", "in-person")

POLICY = {
    "exchange-gp": "opt-in",
    "exchange-cpts-dac": "opt-in",
    "pdp-referral": "opt-in",
    "recommendations-employer": "opt-out",
    "recommendations-medecin-conseil": "opt-out",
}

PURPOSE_FR = {
    "exchange-gp": "l'échange d'informations de santé avec le médecin traitant",
    "exchange-cpts-dac": "l'échange d'informations de santé avec la CPTS ou le DAC",
    "pdp-referral": "la saisine de la cellule de prévention de la désinsertion professionnelle",
    "recommendations-employer": "la transmission des recommandations de pré-reprise à l'employeur",
    "recommendations-medecin-conseil": "la transmission des recommandations de pré-reprise au médecin conseil",
}
DECISION_FR = {"consent": "accord", "objection": "opposition", "withdrawn": "retrait de l'accord"}
CHANNEL_FR = {"form": "formulaire en ligne", "api": "API (ressource Consent)", "email": "courriel",
              "in-person": "en personne ou par téléphone"}

# A pré-reprise letter's recipient → the purpose that lets it leave, and who that is in French.
LETTER_RECIPIENTS = {"employer": ("recommendations-employer", "l'employeur"),
                     "medecin-conseil": ("recommendations-medecin-conseil", "le médecin conseil")}

# Who a reply goes to → the purpose it serves. A row per requester kind; the worker needs no one's consent.
REPLY_PURPOSE = {
    "gp": "exchange-gp", "specialist": "exchange-gp", "mdt": "exchange-gp", "medecin_conseil": "exchange-gp",
    "coordinator": "exchange-cpts-dac", "partner": "pdp-referral", "employer": "pdp-referral",
    "other": "exchange-gp", "worker": None,
}


def allows(purpose: str, decision: str | None) -> bool:
    """Whether content for ``purpose`` may leave given the worker's current ``decision`` (None: none recorded)."""
    if POLICY[purpose] == "opt-in":
        return decision == "consent"
    return decision not in ("objection", "withdrawn")


def reply_purpose(event: str, requester_kind: str, channel: str) -> str | None:
    """The purpose of writing back to a request's sender: who receives it decides (``event`` is kept for rules
    that may one day depend on it)."""
    if channel == "fhir" and requester_kind != "worker":
        return "exchange-cpts-dac"
    return REPLY_PURPOSE.get(requester_kind, "exchange-gp")


def request_purposes(event: str, requester_kind: str, channel: str) -> list[str]:
    """The purposes that may let a request's content leave: writing back to its sender, the PDP referral itself,
    the pré-reprise recommendations (what the thread page shows the consent state of)."""
    found = [p for p in (reply_purpose(event, requester_kind, channel),) if p]
    if event == "pdp-referral" and "pdp-referral" not in found:
        found.append("pdp-referral")
    if event == "pre-return-visit-request":
        found += ["recommendations-employer", "recommendations-medecin-conseil"]
    return found
