"""Mail transport policy: intake can refuse mail before STARTTLS (GUICHET_SMTP_REQUIRE_TLS); the relay gets our
mail only over verified TLS unless told otherwise (GUICHET_SMTP_RELAY_TLS)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from pathlib import Path

import pytest

from connectors.smtp.sink import Sink
from connectors.smtp.transport import EmailTransport, relay_tls_mode
from hub.config import load_settings
from hub.core import Hub
from hub.outbox import TransientDeliveryError
from hub.store.models import Request
from hub.tls import client_context, server_context
from tests.certs import self_signed
from tests.test_smtp_support import GP, count, gp_mail, start_guichet

PAYLOAD = {"to": ["dr.dubois@medecins-demo.fr"], "subject": "[GU-TEST-0001] Réponse", "text": "Bonjour.",
           "from_addr": "guichet@spsti-test.fr", "headers": {}, "attachments": []}


def test_relay_tls_is_required_by_default() -> None:
    def mode(**env: str) -> str:
        return relay_tls_mode(load_settings({"GUICHET_HOME": "/tmp/x", **env}))

    assert mode(GUICHET_SMTP_RELAY="smtp.spsti.example:587") == "required"
    assert mode(GUICHET_SMTP_RELAY="localhost:25") == "opportunistic"  # a local MTA
    assert mode(GUICHET_SMTP_RELAY="localhost:25", GUICHET_SMTP_RELAY_TLS="required") == "required"
    assert mode(GUICHET_SMTP_RELAY="smtp.spsti.example:25", GUICHET_SMTP_RELAY_TLS="none") == "none"
    with pytest.raises(ValueError, match="inconnu"):
        mode(GUICHET_SMTP_RELAY="x:25", GUICHET_SMTP_RELAY_TLS="maybe")


async def test_required_relay_tls_sends_nothing_in_clear(hub: Hub, tmp_path: Path) -> None:
    plain = Sink()
    await plain.start(host="127.0.0.1")
    cert, key = self_signed(tmp_path)
    secure = Sink(tls_context=server_context(cert, key))
    await secure.start(host="127.0.0.1")
    try:
        required = hub.settings.with_(smtp_relay=f"localhost:{plain.port}", smtp_relay_tls="required")
        with pytest.raises(TransientDeliveryError, match="does not offer STARTTLS"):
            await EmailTransport(required).deliver(PAYLOAD)
        assert plain.messages == []
        verified = required.with_(smtp_relay=f"localhost:{secure.port}")
        await EmailTransport(verified, tls_context=client_context(cafile=cert)).deliver(PAYLOAD)
        assert secure.messages[0].tls
        with pytest.raises(TransientDeliveryError):  # not verified against our trust store: refused
            await EmailTransport(verified, tls_context=client_context()).deliver(PAYLOAD)
        none = verified.with_(smtp_relay_tls="none")
        await EmailTransport(none, tls_context=client_context()).deliver(PAYLOAD)
        assert not secure.messages[-1].tls
    finally:
        await plain.stop()
        await secure.stop()


async def test_intake_refuses_mail_before_starttls_when_required(hub: Hub, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    hub.settings = hub.settings.with_(tls_cert=cert, tls_key=key, smtp_require_tls=True)
    guichet = await start_guichet(hub, roles=("smtp",))
    try:
        def clear() -> int:
            with smtplib.SMTP("localhost", guichet.port) as client:
                client.ehlo("cabinet.example")
                return int(client.mail(GP)[0])

        def over_tls() -> int:
            with smtplib.SMTP("localhost", guichet.port) as client:
                client.ehlo("cabinet.example")
                client.starttls(context=ssl.create_default_context(cafile=str(cert)))
                client.ehlo("cabinet.example")
                refused = client.sendmail(GP, [guichet.address], gp_mail("SIRET 04423065100018.").as_bytes())
                return 0 if refused else 250

        assert await asyncio.to_thread(clear) == 530
        assert await asyncio.to_thread(over_tls) == 250
        assert await count(hub, Request) == 1
    finally:
        await guichet.stop()


async def test_require_tls_without_a_certificate_does_not_start(hub: Hub) -> None:
    hub.settings = hub.settings.with_(smtp_require_tls=True)
    with pytest.raises(RuntimeError, match="GUICHET_TLS_CERT"):
        await start_guichet(hub, roles=("smtp",))
