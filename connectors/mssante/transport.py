"""The outbox transport of kind ``mssante``: SMTP submission to the operator with the SPSTI's client certificate.

Contract: ``MssanteTransport(config).deliver(payload)`` (an ``OutboundEmail`` as a dict) writes the message with
``connectors.smtp.transport.build_message`` and then: ``From`` is the BAL applicative (whatever the payload says);
``Reply-To`` is dropped (answers come back to the BAL, inside the trust space); ``X-MSS-NIL`` is always set; when an
``IHE_XDM.ZIP`` is attached, ``X-MSS-CODECDA`` (its document type codes) and ``X-MSS-INS`` (``O`` when it holds
an INS, else ``N``) are set from its metadata; a payload carrying ``X-Guichet-Mdn-*`` headers becomes an MDN
(``multipart/report``). It connects with implicit TLS or STARTTLS (per ``GUICHET_MSSANTE_TLS``), authenticates
(SASL EXTERNAL or LOGIN), asks for delivery status notifications when the server offers DSN, and submits.
Errors are translated here: TLS refused, connection problems and 4xx → ``TransientDeliveryError`` (retried);
5xx → ``PermanentDeliveryError`` (dead letter).
"""

from __future__ import annotations

import ssl
from typing import Any

import aiosmtplib

from connectors.mssante.config import MssanteConfig
from connectors.mssante.reports import MDN_PREFIX, build_mdn
from connectors.mssante.xdm import XdmError, read_xdm
from connectors.smtp.transport import build_message, delivery_errors

XDM_NAME = "IHE_XDM.ZIP"


def build_mss_message(payload: dict[str, Any], config: MssanteConfig) -> Any:
    headers = dict(payload.get("headers") or {})
    mdn = {k: v for k, v in headers.items() if k.startswith(MDN_PREFIX)}
    clean = {k: v for k, v in headers.items() if not k.startswith(MDN_PREFIX) and k.lower() != "reply-to"}
    msg = build_message({**payload, "headers": clean, "from_addr": config.address}, config.domain)
    del msg["Reply-To"]
    msg["X-MSS-NIL"] = config.nil
    for att in payload.get("attachments") or []:
        if str(att.get("filename", "")).upper() == XDM_NAME:
            content = att["content"]
            data = content.encode("latin-1") if isinstance(content, str) else bytes(content)
            try:
                archive = read_xdm(data)
            except XdmError:
                continue
            msg["X-MSS-CODECDA"] = ",".join(archive.type_codes)
            msg["X-MSS-INS"] = "O" if archive.patient.ins else "N"
            break
    if mdn:
        msg = build_mdn(msg, mdn, payload["text"], f"{config.domain}; Guichet unique")
    return msg


class MssanteTransport:
    def __init__(self, config: MssanteConfig, tls_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.tls_context = tls_context or config.tls_context()

    async def deliver(self, payload: dict[str, Any]) -> None:
        config = self.config
        host, port = config.smtp
        msg = build_mss_message(payload, config)
        implicit = config.tls_mode == "implicit"
        client = aiosmtplib.SMTP(hostname=host, port=port, timeout=config.timeout, use_tls=implicit,
                                 start_tls=not implicit, tls_context=self.tls_context,
                                 local_hostname=config.domain)
        async with delivery_errors(client, "destinataires refusés : ", "l'opérateur MSSanté a répondu",
                                   "opérateur MSSanté injoignable : "):
            await client.connect()
            if client.is_ehlo_or_helo_needed:  # implicit TLS: the extensions are known only after EHLO
                await client.ehlo()
            if config.auth == "login":
                assert config.login is not None and config.password is not None
                await client.login(config.login, config.password)
            elif "external" in [m.lower() for m in client.server_auth_methods]:  # else the certificate is all
                code, message = await client.execute_command(b"AUTH", b"EXTERNAL", b"=")
                if code != 235:
                    raise aiosmtplib.SMTPAuthenticationError(code, message)
            dsn = client.supports_extension("dsn")
            mail_options = ["RET=HDRS"] if dsn else []
            rcpt_options = ["NOTIFY=FAILURE,DELAY"] if dsn else []
            await client.send_message(msg, sender=config.address, recipients=list(payload["to"]),
                                      mail_options=mail_options, rcpt_options=rcpt_options)
