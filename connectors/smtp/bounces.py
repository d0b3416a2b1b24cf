"""Delivery reports: what a report says, in one line fit to store and print.

Contract: ``diagnostic(text)`` → the most telling line of a report (its ``Diagnostic-Code``, else its ``Status``),
control characters stripped (``hub.bounces.printable``). Whether a report is believed, and which outbound row it
puts in dead letter, is ``hub.bounces``'s decision (VERP return paths only).
"""

from __future__ import annotations

from hub.bounces import printable


def diagnostic(text: str) -> str:
    """The most telling line of a delivery report (the ``Diagnostic-Code``, else the ``Status``)."""
    for marker in ("Diagnostic-Code:", "Status:"):
        for line in text.splitlines():
            if line.strip().lower().startswith(marker.lower()):
                return printable(line.strip())[:300]
    return "non-remise signalée par le serveur destinataire"
