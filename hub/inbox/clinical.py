"""The administrative part of a request, for a role without the ``read-clinical`` right (``hub.rights``).

Contract: ``administrative_payload(payload)`` returns a copy of a request's decrypted payload without its clinical
part: the reason (free text), the cause of the work stoppage and anything not listed in ``ADMINISTRATIVE`` are
dropped; the worker's identity, the employer, the requester, the job, the stoppage dates and the consent stay (an
assistant needs them to organise the visit). ``MASKED`` is what is shown instead of a message body; attachments
are not listed and cannot be downloaded.
"""

from __future__ import annotations

from typing import Any

ADMINISTRATIVE = ("event", "channel", "worker", "employer", "requester", "job", "stoppage", "consent", "subject",
                  "client_id", "trust")
MASKED = "Contenu clinique réservé à l'équipe médicale."


def administrative_payload(payload: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in payload.items() if k in ADMINISTRATIVE}
    stoppage = kept.get("stoppage")
    if isinstance(stoppage, dict):
        kept["stoppage"] = {k: v for k, v in stoppage.items() if k in ("start", "end")}
    kept["clinical_hidden"] = True
    return kept
