"""The TLS context of every connection to the MSSanté operator (IMAP and SMTP submission).

Contract: ``client_context(cert, key, ca, crl, tls13)`` — mutual TLS with the SPSTI's certificate; the operator's
certificate verified against ``ca`` only (never the system store: IGC-Santé is the only accepted authority), host
name checked; with ``crl`` the leaf is checked against it (a CRL that is missing for the issuer fails the
handshake); TLS 1.2 with the four suites of the MSSanté client rules (Référentiel #2, ECO.1.1.x), and TLS 1.3 only
when ``tls13`` (operator-dependent). The rules list two CBC suites: kept because the operators' rules name them.
"""

from __future__ import annotations

import ssl
from pathlib import Path

MSS_TLS12_SUITES = ":".join([
    "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-SHA384", "ECDHE-RSA-AES128-SHA256",
])


def client_context(cert: Path, key: Path, ca: Path, crl: Path | None, tls13: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verify_mode CERT_REQUIRED, check_hostname, no CA loaded
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3 if tls13 else ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(MSS_TLS12_SUITES)
    ctx.options |= ssl.OP_NO_COMPRESSION
    ctx.load_verify_locations(cafile=str(ca))
    if crl is not None:
        ctx.load_verify_locations(cafile=str(crl))
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    ctx.load_cert_chain(str(cert), str(key))
    return ctx
