"""The SMTP listener: aiosmtpd's protocol on the hub's own event loop (so it shares the database engine).

Contract: ``await Listener(hub).start()`` binds ``settings.smtp_host:smtp_port`` (0 = ephemeral) and returns
the bound port; lines up to 64 KiB are accepted; EHLO announces ``SIZE settings.smtp_max_size`` (enforced with
552) and ``STARTTLS`` when a certificate is configured (``hub.tls.server_context``: TLS ≥ 1.2, ECDHE + AEAD).
With ``GUICHET_SMTP_REQUIRE_TLS`` every command but EHLO/HELO, STARTTLS, NOOP, RSET and QUIT is refused (530)
until STARTTLS: no message is accepted in clear. ``await stop()`` closes it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

from aiosmtpd.smtp import SMTP

from connectors.smtp.handler import IntakeHandler
from hub.core import Hub
from hub.tls import server_context


class GuichetSMTP(SMTP):
    """aiosmtpd's protocol, tolerant of over-long lines: RFC 5321 caps them at 1,000 octets, but real mail
    clients send longer ones (unwrapped HTML in 8bit) and a refused message would be lost for the GP."""

    line_length_limit = 64 * 1024


class Listener:
    def __init__(self, hub: Hub, handler: IntakeHandler | None = None) -> None:
        self.hub = hub
        self.handler = handler or IntakeHandler(hub)
        self.server: asyncio.AbstractServer | None = None
        self.port: int | None = None

    def _tls(self) -> ssl.SSLContext | None:
        s = self.hub.settings
        return server_context(s.tls_cert, s.tls_key) if s.tls_cert and s.tls_key else None

    async def start(self) -> int:
        settings, loop = self.hub.settings, asyncio.get_running_loop()
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:  # aiosmtpd logs every command at INFO
            logging.getLogger("mail.log").setLevel(logging.WARNING)
        tls = self._tls()
        hostname = settings.address_domain
        if settings.smtp_require_tls and tls is None:
            raise RuntimeError("GUICHET_SMTP_REQUIRE_TLS demande STARTTLS : configurez GUICHET_TLS_CERT et "
                               "GUICHET_TLS_KEY")

        def factory() -> SMTP:
            return GuichetSMTP(self.handler, data_size_limit=settings.smtp_max_size, enable_SMTPUTF8=True,
                        hostname=hostname, ident="Guichet ESMTP", tls_context=tls, timeout=300, loop=loop,
                        require_starttls=settings.smtp_require_tls)

        self.server = await loop.create_server(factory, host=settings.smtp_host, port=settings.smtp_port)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
