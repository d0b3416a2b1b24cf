"""Outbound email through the relay (``settings.smtp_relay`` = ``host:port``) with aiosmtplib.

Contract: ``EmailTransport(settings).deliver(payload)`` (an ``OutboundEmail`` as a dict, from the outbox)
builds an RFC 5322 message — From, To, Subject, Date, Message-ID (the payload's when given), and the payload's
other headers (Reply-To, In-Reply-To, References, Auto-Submitted) — and sends it, from the row's VERP return
path when the payload names one. TLS (``GUICHET_SMTP_RELAY_TLS``, :func:`relay_tls_mode`): ``required`` (the
default, verified against the trust store: a relay without STARTTLS gets nothing), ``opportunistic`` (STARTTLS
when offered, verified) or ``none``. Connection problems and 4xx answers raise ``TransientDeliveryError`` (the
outbox retries); 5xx answers raise ``PermanentDeliveryError`` (dead letter at once).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib

from hub.config import Settings
from hub.outbox import PermanentDeliveryError, TransientDeliveryError
from hub.settings_check import SettingError, boolean, existing_file
from hub.tls import client_context

SKIP_HEADERS = {"from", "to", "subject", "date", "message-id", "cc", "bcc"}


def build_message(payload: dict[str, Any], domain: str) -> EmailMessage:
    msg = EmailMessage()
    headers: dict[str, str] = dict(payload.get("headers") or {})
    msg["From"] = payload["from_addr"]
    msg["To"] = ", ".join(payload["to"])
    msg["Subject"] = payload["subject"]
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = headers.get("Message-ID") or make_msgid(domain=domain)
    for name, value in headers.items():
        if name.lower() not in SKIP_HEADERS and value:
            msg[name] = value
    msg.set_content(payload["text"], charset="utf-8")
    for att in payload.get("attachments") or []:
        content = att["content"]
        data = content.encode("latin-1") if isinstance(content, str) else bytes(content)
        maintype, _, subtype = str(att.get("content_type", "application/octet-stream")).partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=att.get("filename", "piece-jointe"))
    return msg


def parse_relay(relay: str) -> tuple[str, int]:
    host, _, port = relay.rpartition(":")
    if not host:
        return relay, 25
    return host.strip("[]"), int(port)


RELAY_TLS_MODES = ("required", "opportunistic", "none")
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def relay_tls_mode(settings: Settings) -> str:
    """``GUICHET_SMTP_RELAY_TLS``; unset: ``required`` (verified), except for a relay on the loopback interface
    (a local MTA), where STARTTLS is used when offered."""
    mode = settings.smtp_relay_tls
    if mode is None:
        host = parse_relay(settings.smtp_relay)[0] if settings.smtp_relay else ""
        return "opportunistic" if host.lower() in LOOPBACK or host.startswith("127.") else "required"
    if mode not in RELAY_TLS_MODES:
        raise SettingError("smtp_relay_tls", f"« {mode} » inconnu (required, opportunistic ou none)")
    return mode


def check_relay_settings(settings: Settings) -> tuple[bool, Path | None]:
    """``smtp_relay_tls_verify`` (bool) and ``smtp_relay_cafile`` (an existing file), typed; checks the relay."""
    if settings.smtp_relay:
        host, _, port = settings.smtp_relay.rpartition(":")
        if host and not (port.isdigit() and 0 < int(port) < 65536):
            raise SettingError("smtp_relay", f"hôte:port attendu, pas « {settings.smtp_relay[:60]} »")
    return (boolean(settings.extra, "smtp_relay_tls_verify", True),
            existing_file(settings.extra, "smtp_relay_cafile"))


class EmailTransport:
    """The outbox transport of kind ``email``."""

    def __init__(self, settings: Settings, tls_context: ssl.SSLContext | None = None, timeout: float = 30) -> None:
        self.settings = settings
        self.timeout = timeout
        verify, cafile = check_relay_settings(settings)
        self.tls_context = tls_context or client_context(verify=verify, cafile=cafile)
        self.tls_mode = relay_tls_mode(settings)

    async def deliver(self, payload: dict[str, Any]) -> None:
        if not self.settings.smtp_relay:
            raise TransientDeliveryError("no SMTP relay configured (GUICHET_SMTP_RELAY)")
        host, port = parse_relay(self.settings.smtp_relay)
        msg = build_message(payload, self.settings.address_domain)
        client = aiosmtplib.SMTP(hostname=host, port=port, timeout=self.timeout, start_tls=False,
                                 tls_context=self.tls_context, local_hostname=self.settings.address_domain)
        async with delivery_errors(client, "recipients refused: ", "relay answered", "relay unreachable: "):
            await client.connect()
            await client.ehlo()
            if self.tls_mode != "none" and client.supports_extension("starttls"):  # verified (trust store)
                await client.starttls()
            elif self.tls_mode == "required":
                raise TransientDeliveryError("the relay does not offer STARTTLS and GUICHET_SMTP_RELAY_TLS is "
                                             "required: nothing sent")
            await client.send_message(msg, sender=payload.get("return_path") or self.settings.address,
                                      recipients=list(payload["to"]))


@asynccontextmanager
async def delivery_errors(client: aiosmtplib.SMTP, refused: str, answered: str, unreachable: str
                          ) -> AsyncIterator[None]:
    """Translate aiosmtplib's errors into the outbox's (permanent for 5xx, transient otherwise), with the peer's
    words prefixed by ``refused`` / ``answered`` / ``unreachable``; then leave the connection politely."""
    try:
        yield
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        error = f"{refused}{'; '.join(f'{r.code} {r.message}' for r in exc.recipients)}"
        if all(code >= 500 for code in codes):
            raise PermanentDeliveryError(error) from exc
        raise TransientDeliveryError(error) from exc
    except aiosmtplib.SMTPResponseException as exc:
        error = f"{answered} {exc.code} {exc.message}"
        if exc.code >= 500:
            raise PermanentDeliveryError(error) from exc
        raise TransientDeliveryError(error) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise TransientDeliveryError(f"{unreachable}{type(exc).__name__}: {exc}") from exc
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
