"""Shared pieces of the MSSanté tests (no tests here): the operator's SMTP submission server (aiosmtpd with a TLS
context that requires a client certificate of the test CA), settings for the connector, a GP's MSSanté message."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from sqlalchemy import update

from connectors.smtp.sink import Received
from hub.config import Settings
from hub.core import Hub
from hub.store.models import Practitioner
from tests.mssante_dovecot import Dovecot
from tests.mssante_pki import BAL, Pki

GP_MSS = "helene.dubois@medecin.mssante.fr"  # the MSSanté BAL of the demo GP (RPPS 10000000074)


async def register_gp_mailbox(hub: Hub) -> None:
    """Give the demo GP her MSSanté address in the directory (``practitioners.mssante``)."""
    async with hub.db.session() as session, session.begin():
        await session.execute(update(Practitioner).where(Practitioner.rpps == "10000000074").values(mssante=GP_MSS))


def server_tls(pki: Pki, rogue: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    issued = pki.rogue_server if rogue else pki.server
    ctx.load_cert_chain(str(issued.cert), str(issued.key))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=str(pki.ca.path))
    return ctx


DSN_PARAM = re.compile(r"\s+(RET|ENVID|NOTIFY|ORCPT)=\S+", re.I)


class DsnSMTP(SMTP):
    """aiosmtpd refuses unknown MAIL/RCPT parameters: this one announces DSN (RFC 3461) and records its
    parameters (what the operator would honour) before the usual checks."""

    async def smtp_MAIL(self, arg: str) -> None:
        handler: SubmissionHandler = self.event_handler
        handler.dsn_params += [m.group(0).strip() for m in DSN_PARAM.finditer(arg or "")]
        await super().smtp_MAIL(DSN_PARAM.sub("", arg or ""))

    async def smtp_RCPT(self, arg: str) -> None:
        handler: SubmissionHandler = self.event_handler
        handler.dsn_params += [m.group(0).strip() for m in DSN_PARAM.finditer(arg or "")]
        await super().smtp_RCPT(DSN_PARAM.sub("", arg or ""))


class SubmissionHandler:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.peers: list[str] = []
        self.dsn_params: list[str] = []
        self.external: list[str] = []
        self.arrived = asyncio.Event()

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        if isinstance(server, DsnSMTP):
            return [*responses[:-1], "250-DSN", responses[-1]]
        return responses

    async def auth_EXTERNAL(self, server: SMTP, args: list[str]) -> AuthResult:
        """SASL EXTERNAL: the identity is the client certificate's (an empty authorization identity, "=")."""
        cert = server.transport.get_extra_info("peercert") if server.transport else None
        cn = str(dict(x[0] for x in cert["subject"]).get("commonName", "")) if cert else ""
        self.external.append(cn)
        return AuthResult(success=bool(cn) and args[1:] in ([], ["="]), auth_data=cn)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        cert = server.transport.get_extra_info("peercert") if server.transport else None
        subject = dict(x[0] for x in cert["subject"]) if cert else {}
        self.peers.append(str(subject.get("commonName", "")))
        self.messages.append(Received(envelope.mail_from or "", list(envelope.rcpt_tos),
                                      envelope.original_content or b"", True))
        self.arrived.set()
        return "250 2.0.0 OK"


class Submission:
    """The operator's submission port requiring a client certificate: implicit TLS, or STARTTLS followed by a
    required SASL EXTERNAL."""

    def __init__(self, pki: Pki, rogue: bool = False, starttls: bool = False, dsn: bool = False) -> None:
        self.handler = SubmissionHandler()
        self.tls = server_tls(pki, rogue)
        self.starttls = starttls
        self.smtp_class = DsnSMTP if dsn else SMTP
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        if self.starttls:  # port 587 style: STARTTLS required before anything else
            self.server = await loop.create_server(
                lambda: self.smtp_class(self.handler, hostname="smtp.operateur.test", loop=loop, tls_context=self.tls,
                                        require_starttls=True, auth_required=True,
                                        authenticator=lambda *_: AuthResult(success=False)),
                host="127.0.0.1", port=0)
        else:
            self.server = await loop.create_server(
                lambda: self.smtp_class(self.handler, hostname="smtp.operateur.test", loop=loop), host="127.0.0.1",
                port=0,
                ssl=self.tls)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def mss_settings(settings: Settings, pki: Pki, dovecot: Dovecot, smtp_port: int, **more: str) -> Settings:
    extra: dict[str, Any] = dict(settings.extra)
    values: Mapping[str, str] = {
        "address": BAL, "imap": f"localhost:{dovecot.port}", "smtp": f"localhost:{smtp_port}", "tls": "implicit",
        "cert": str(pki.client.cert), "key": str(pki.client.key), "ca": str(pki.ca.path), "auth": "external",
        "nil": "NIL-TEST-0001", "poll": "0.5", "lease": "3", "timeout": "5", **more}
    extra.update({f"mssante_{k}": v for k, v in values.items()})
    return settings.with_(extra=extra)


def gp_message(body: str, subject: str = "Demande d'avis - reprise", sender: str = GP_MSS,
               attachments: list[tuple[str, str, bytes]] | None = None, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Dr Hélène Dubois <{sender}>"
    msg["To"] = BAL
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="medecins-demo.fr")
    msg["Return-Path"] = f"<{sender}>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    for filename, ctype, data in attachments or []:
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def tmp_pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")
