"""SMART system scopes the API knows, and how a granted set covers a needed scope."""

from __future__ import annotations

KNOWN_SCOPES = ("system/Bundle.write", "system/Task.read", "system/Communication.read", "system/Consent.read",
                "system/Consent.write", "system/MeasureReport.read")


def parse_scopes(text: str | None) -> list[str]:
    """Split a space-separated scope string, keeping order, dropping duplicates."""
    out: list[str] = []
    for part in (text or "").split():
        if part not in out:
            out.append(part)
    return out


def unknown_scopes(scopes: list[str]) -> list[str]:
    return [s for s in scopes if s not in KNOWN_SCOPES]


def covers(granted: tuple[str, ...] | list[str], needed: str) -> bool:
    """True when ``needed`` (``system/Type.read``) is in ``granted``, also through ``*`` wildcards
    (``system/*.read``, ``system/Task.*``) that a token may carry."""
    if needed in granted:
        return True
    context, _, rest = needed.partition("/")
    resource, _, action = rest.partition(".")
    return any(g in granted for g in (f"{context}/*.{action}", f"{context}/{resource}.*", f"{context}/*.*"))
