"""MSSanté transport and trust: certificates refused on both sides, revocation, STARTTLS + LOGIN, a connection
that drops in the middle of a fetch, two instances on one mailbox, and the typed configuration."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connectors.mssante import connector
from connectors.mssante.config import MssanteConfig
from connectors.mssante.imap import ImapError, ImapSession
from connectors.mssante.tls import MSS_TLS12_SUITES
from connectors.mssante.transport import MssanteTransport
from hub.core import Hub
from hub.outbox import TransientDeliveryError
from hub.server import Server
from hub.settings_check import SettingError
from tests.conftest import cli_env, wait_until
from tests.mssante_dovecot import PASSWORD, Dovecot, available
from tests.mssante_pki import BAL, Pki
from tests.mssante_support import GP_MSS, PDF, Submission, gp_message, mss_settings
from tests.test_mssante import mss_requests

pytestmark = pytest.mark.skipif(not available(), reason="needs /usr/sbin/dovecot (dovecot-imapd) and root")
PAYLOAD = {"to": [GP_MSS], "subject": "Réponse", "text": "Bonjour.\n", "from_addr": "guichet@spsti-test.fr",
           "headers": {"Message-ID": "<r1@spsti-test.fr>"}, "attachments": []}


@pytest.fixture
async def operator(tmp_path: Path) -> AsyncIterator[tuple[Pki, Dovecot]]:
    pki = Pki(tmp_path / "pki")
    dovecot = await asyncio.to_thread(Dovecot(pki).start)
    try:
        yield pki, dovecot
    finally:
        await asyncio.to_thread(dovecot.stop)


def config(hub: Hub, pki: Pki, dovecot: Dovecot, smtp_port: int = 1, **more: str) -> MssanteConfig:
    built = MssanteConfig.from_settings(mss_settings(hub.settings, pki, dovecot, smtp_port, **more))
    assert built is not None
    return built


async def test_certificates_are_refused_on_both_sides(hub: Hub, operator: tuple[Pki, Dovecot]) -> None:
    pki, dovecot = operator
    good = config(hub, pki, dovecot)
    session = await ImapSession.open(good, good.tls_context())
    cipher = session.client.protocol.transport.get_extra_info("cipher")
    await session.close()
    assert cipher[1] == "TLSv1.2" and cipher[0] in MSS_TLS12_SUITES.split(":")  # the MSSanté client suites
    modern = config(hub, pki, dovecot, tls13="oui")
    session = await ImapSession.open(modern, modern.tls_context())
    assert session.client.protocol.transport.get_extra_info("cipher")[1] == "TLSv1.3"
    await session.close()
    # our side: a client certificate from another authority is refused by the operator
    rogue = config(hub, pki, dovecot, cert=str(pki.rogue_client.cert), key=str(pki.rogue_client.key))
    with pytest.raises(ImapError):
        await ImapSession.open(rogue, rogue.tls_context())
    # their side: an operator whose certificate is not under our trust anchors is refused by us
    distrust = config(hub, pki, dovecot, ca=str(pki.rogue.path))
    with pytest.raises(ImapError, match="TLS"):
        await ImapSession.open(distrust, distrust.tls_context())
    # revocation: with the CA's CRL configured, a valid operator passes; once its certificate is revoked, refused
    listed = config(hub, pki, dovecot, crl=str(pki.crl_path))
    await (await ImapSession.open(listed, listed.tls_context())).close()
    crl = pki.revoke([pki.server.serial])
    revoked = config(hub, pki, dovecot, crl=str(crl))
    with pytest.raises(ImapError, match="TLS"):
        await ImapSession.open(revoked, revoked.tls_context())
    # SMTP submission: an operator with a foreign certificate, and an operator refusing our certificate
    for server_rogue, cfg in ((True, good), (False, rogue)):
        submission = Submission(pki, rogue=server_rogue)
        port = await submission.start()
        try:
            the_cfg = MssanteConfig.from_settings(mss_settings(hub.settings, pki, dovecot, port, **(
                {} if cfg is good else {"cert": str(pki.rogue_client.cert), "key": str(pki.rogue_client.key)})))
            assert the_cfg is not None
            with pytest.raises(TransientDeliveryError):
                await MssanteTransport(the_cfg).deliver(PAYLOAD)
            assert submission.handler.messages == []
        finally:
            await submission.stop()


async def test_starttls_and_login(hub: Hub, operator: tuple[Pki, Dovecot], tmp_path: Path) -> None:
    pki, dovecot = operator
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    cfg = config(hub, pki, dovecot, tls="starttls", imap=f"localhost:{dovecot.starttls_port}", auth="login",
                 login=BAL, password_file=str(secret))
    dovecot.deliver(gp_message("Bonjour"))
    session = await ImapSession.open(cfg, cfg.tls_context())
    try:
        [uid] = await session.pending()
        raw = await session.fetch(uid)
        assert raw is not None and b"Bonjour" in raw
        await session.mark_processed(uid)
        assert await session.pending() == []
    finally:
        await session.close()
    submission = Submission(pki, starttls=True)
    port = await submission.start()
    try:
        smtp_cfg = config(hub, pki, dovecot, port, tls="starttls", imap=f"localhost:{dovecot.starttls_port}",
                          auth="external")
        await MssanteTransport(smtp_cfg).deliver(PAYLOAD)
        assert submission.handler.peers == [BAL] and submission.handler.messages[0].rcpt_tos == [GP_MSS]
        assert submission.handler.external == [BAL]  # SASL EXTERNAL after STARTTLS, required by this operator
    finally:
        await submission.stop()
    secret.write_text("mauvais\n")
    wrong = config(hub, pki, dovecot, tls="starttls", imap=f"localhost:{dovecot.starttls_port}", auth="login",
                   login=BAL, password_file=str(secret))
    with pytest.raises(ImapError, match="LOGIN"):
        await ImapSession.open(wrong, wrong.tls_context())


class CuttingProxy:
    """A TCP relay to Dovecot that cuts the first connection once ``cut_after`` bytes went to the client."""

    def __init__(self, target: int, cut_after: int) -> None:
        self.target, self.cut_after, self.connections = target, cut_after, 0
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        cut = self.connections == 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, count: bool) -> None:
            sent = 0
            try:
                while data := await src.read(16384):
                    if count and cut and sent + len(data) > self.cut_after:
                        dst.write(data[: self.cut_after - sent])
                        break
                    dst.write(data)
                    sent += len(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                for w in (writer, up_writer):
                    w.close()

        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_connection_drop_mid_fetch_then_stored_once(demo_hub: Hub, operator: tuple[Pki, Dovecot]) -> None:
    pki, dovecot = operator
    big = PDF + b"0" * 400_000
    dovecot.deliver(gp_message("Bonjour, SIRET 44306184100047.", attachments=[("cr.pdf", "application/pdf", big)]))
    proxy = CuttingProxy(dovecot.port, cut_after=150_000)
    port = await proxy.start()
    demo_hub.settings = mss_settings(demo_hub.settings, pki, dovecot, 1, imap=f"localhost:{port}")
    server = Server(demo_hub, [connector()], ("mssante",))
    await server.start()
    try:
        await wait_until(lambda: _count(demo_hub, 1), timeout=30)
        reader = demo_hub.services["mssante"]
        assert proxy.connections >= 2 and "connexion perdue" in (reader.last_error or "")
        await wait_until(lambda: asyncio.sleep(0, reader.handled == 1), timeout=10)
    finally:
        await server.stop()
        await proxy.stop()
    assert len(await mss_requests(demo_hub)) == 1


async def test_new_mail_wakes_the_reader_by_idle(demo_hub: Hub, operator: tuple[Pki, Dovecot]) -> None:
    pki, dovecot = operator
    demo_hub.settings = mss_settings(demo_hub.settings, pki, dovecot, 1, poll="60", lease="300")
    server = Server(demo_hub, [connector()], ("mssante",))
    await server.start()
    try:
        reader = demo_hub.services["mssante"]
        await wait_until(lambda: asyncio.sleep(0, reader.passes >= 1), timeout=10)
        dovecot.deliver(gp_message("Bonjour, SIRET 44306184100047."))
        await wait_until(lambda: _count(demo_hub, 1), timeout=15)  # far sooner than the 60 s poll
        await wait_until(lambda: asyncio.sleep(0, reader.passes == 2), timeout=5)  # one wake, one pass
    finally:
        await server.stop()


async def _count(hub: Hub, n: int) -> bool:
    return len(await mss_requests(hub)) >= n


async def test_two_instances_read_the_mailbox_once(demo_hub: Hub, operator: tuple[Pki, Dovecot]) -> None:
    pki, dovecot = operator
    for n in range(4):
        dovecot.deliver(gp_message(f"Bonjour, demande {n}, SIRET 44306184100047."))
    # a lease long enough that a loaded machine never lets it lapse between renewals; stop() releases it
    demo_hub.settings = mss_settings(demo_hub.settings, pki, dovecot, 1, lease="15")
    first, second = connector(), connector()
    servers = [Server(demo_hub, [c], ("mssante",)) for c in (first, second)]
    await asyncio.gather(*(s.start() for s in servers))
    try:
        await wait_until(lambda: _count(demo_hub, 4), timeout=30)
        dovecot.deliver(gp_message("Bonjour, une cinquième, SIRET 44306184100047."))
        await wait_until(lambda: _count(demo_hub, 5), timeout=30)
        readers = [c.reader for c in (first, second)]
        assert all(r is not None for r in readers)
        # the reader counts a message just after the hub has committed it: wait for that count
        await wait_until(lambda: asyncio.sleep(0, sum(r.handled for r in readers if r is not None) >= 5),
                         timeout=10)
        handled = sorted(r.handled for r in readers if r is not None)
        passes = sorted(r.passes for r in readers if r is not None)
        assert handled == [0, 5] and passes[0] == 0  # the other instance never opened the mailbox
        # the reading instance stops (its lease is released): the other one takes over
        active = 0 if readers[0] is not None and readers[0].handled == 5 else 1
        standby = readers[1 - active]
        assert standby is not None
        await servers[active].stop()
        dovecot.deliver(gp_message("Bonjour, une sixième, SIRET 44306184100047."))
        await wait_until(lambda: _count(demo_hub, 6), timeout=30)
        await wait_until(lambda: asyncio.sleep(0, standby.handled == 1), timeout=10)
    finally:
        for s in servers:
            await s.stop()
    assert len(await mss_requests(demo_hub)) == 6


async def test_bad_settings_are_named_before_listening(hub: Hub, tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    base = {"mssante_address": BAL, "mssante_imap": "localhost:993", "mssante_smtp": "localhost:465",
            "mssante_cert": str(pki.client.cert), "mssante_key": str(pki.client.key),
            "mssante_ca": str(pki.ca.path), "mssante_nil": "NIL-1"}
    assert MssanteConfig.from_settings(hub.settings.with_(extra=base)) is not None
    assert MssanteConfig.from_settings(hub.settings) is None  # not configured: off
    for key, value, named in (("mssante_tls", "ssl", "GUICHET_MSSANTE_TLS"),
                              ("mssante_imap", "localhost:imap", "GUICHET_MSSANTE_IMAP"),
                              ("mssante_ca", str(tmp_path / "absent.pem"), "GUICHET_MSSANTE_CA"),
                              ("mssante_nil", "", "GUICHET_MSSANTE_NIL"),
                              ("mssante_auth", "login", "GUICHET_MSSANTE_PASSWORD_FILE"),
                              ("mssante_key", str(pki.rogue_client.key), "GUICHET_MSSANTE_CERT")):
        with pytest.raises(SettingError, match=named):
            MssanteConfig.from_settings(hub.settings.with_(extra={**base, key: value}))
    env = {**cli_env(hub.settings), "GUICHET_HTTP_PORT": "0", "GUICHET_SMTP_PORT": "0",
           **{f"GUICHET_{k.upper()}": v for k, v in base.items()}, "GUICHET_MSSANTE_TLS": "ssl"}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "hub.cli", "serve"], env=env,
                                   capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "GUICHET_MSSANTE_TLS" in done.stderr and "implicit, starttls" in done.stderr
    assert "interface web" not in done.stdout  # nothing listened
