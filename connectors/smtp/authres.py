"""Sender trust of an email, read from the ``Authentication-Results`` header (RFC 8601) of a trusted server.

Contract: ``trust_of(mail, trusted_authserv_id)`` returns ``"verified"`` or ``"unverified"``
(``hub.intake.drafts.TRUST_LEVELS``). Only the topmost ``Authentication-Results`` header whose authserv-id equals
``GUICHET_TRUSTED_AUTHSERV_ID`` is read (the one the SPSTI's border server added last; that server must remove
headers carrying its own authserv-id from incoming mail, as RFC 8601 section 5 asks). The sender's domain (the
``From`` address) is authenticated when that header says:

- ``dmarc=pass`` (for the From domain when ``header.from`` is given), or
- no DMARC failure, and ``dkim=pass`` with a signing domain ``header.d`` aligned with the From domain, or
- no DMARC failure, and ``spf=pass`` with an ``smtp.mailfrom`` domain aligned with the From domain.

"Aligned" is DMARC's relaxed alignment, approximated without a public-suffix list: the same domain, or one a
subdomain of the other, neither being a bare top-level domain. Anything else (no header from the trusted server,
no trusted server configured, ``none``, ``fail``, ``softfail``, ``temperror``…) is ``unverified``. Nothing here
logs an address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from connectors.smtp.parse import ParsedMail

COMMENT = re.compile(r"\([^()]*\)")
DMARC_FAILURES = ("fail", "quarantine", "reject")


@dataclass
class MethodResult:
    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)


def _strip_comments(value: str) -> str:
    previous = None
    while previous != value:
        previous, value = value, COMMENT.sub(" ", value)
    return value


def parse(value: str) -> tuple[str, list[MethodResult]]:
    """``(authserv_id, results)`` of one header value; the id is lower case, methods and results too."""
    parts = [p.strip() for p in _strip_comments(value.replace("\r", " ").replace("\n", " ")).split(";")]
    head = parts[0].split()
    authserv = head[0].lower().strip('"') if head else ""
    results: list[MethodResult] = []
    for part in parts[1:]:
        tokens = part.split()
        if not tokens or "=" not in tokens[0]:
            continue
        method, _, result = tokens[0].partition("=")
        props: dict[str, str] = {}
        for token in tokens[1:]:
            name, eq, prop = token.partition("=")
            if eq and "." in name:
                props[name.lower()] = prop.strip('"').lower()
        results.append(MethodResult(method.split("/")[0].lower(), result.lower(), props))
    return authserv, results


def _domain(value: str) -> str:
    return value.rpartition("@")[2].strip().strip(".").lower()


def aligned(domain: str, from_domain: str) -> bool:
    if not domain or not from_domain or "." not in domain or "." not in from_domain:
        return False
    return domain == from_domain or from_domain.endswith("." + domain) or domain.endswith("." + from_domain)


def authenticated(results: list[MethodResult], from_domain: str) -> bool:
    """Whether these results (from the trusted server) authenticate ``from_domain`` (see the module docstring)."""
    dmarc = [r for r in results if r.method == "dmarc"]
    if any(r.result in DMARC_FAILURES for r in dmarc):
        return False
    for r in dmarc:
        if r.result == "pass" and _domain(r.props.get("header.from", from_domain)) == from_domain:
            return True
    for r in results:
        if r.result != "pass":
            continue
        if r.method == "dkim" and aligned(_domain(r.props.get("header.d") or r.props.get("header.i", "")),
                                          from_domain):
            return True
        if r.method == "spf" and aligned(_domain(r.props.get("smtp.mailfrom", "")), from_domain):
            return True
    return False


def trust_of(mail: ParsedMail, trusted_authserv_id: str | None) -> str:
    if not trusted_authserv_id or not mail.from_addr or "@" not in mail.from_addr:
        return "unverified"
    for value in mail.auth_results:
        authserv, results = parse(value)
        if authserv == trusted_authserv_id.lower():
            return "verified" if authenticated(results, _domain(mail.from_addr)) else "unverified"
    return "unverified"
