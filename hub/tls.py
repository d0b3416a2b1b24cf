"""TLS contexts for every listener: TLS ≥ 1.2, ECDHE key exchange with AEAD ciphers only.

Python's default server context still offers CBC suites for TLS 1.2: they are removed explicitly here.
"""

from __future__ import annotations

import ssl
from pathlib import Path

TLS12_SUITES = ":".join([
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
])


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_SUITES)  # TLS 1.3 suites are all AEAD with ephemeral key exchange
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def client_context(verify: bool = True, cafile: Path | None = None) -> ssl.SSLContext:
    """For outbound connections (the SMTP relay): verification on unless told otherwise."""
    ctx = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_SUITES)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
