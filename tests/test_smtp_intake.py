"""SMTP intake at the protocol level: recipients, size, pipelining, empty return path, duplicates, storage down,
STARTTLS — with Python's smtplib and swaks (Debian) as clients of the real server."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.core import Hub
from hub.store.db import Database
from hub.store.models import Message, OutboxItem, Request
from tests.certs import self_signed
from tests.test_smtp_support import GP, count, gp_mail, outbox_rows, rcpt_code, start_guichet

SWAKS = "/usr/bin/swaks"
SIRET_TEXT = "Employeur : Boulangerie du Port, SIRET 04423065100018."


async def swaks(port: int, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        SWAKS, "--server", "127.0.0.1", "--port", str(port), "--helo", "cabinet.example", "--timeout", "20",
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return int(proc.returncode or 0), out.decode("utf-8", "replace")


async def test_recipients_other_than_the_guichet_are_refused(hub: Hub) -> None:
    guichet = await start_guichet(hub, roles=("smtp",))
    try:
        for address in ("someone@spsti-test.fr", "guichet@other.example", "guichetx@spsti-test.fr",
                        "guichet+@spsti-test.fr", "guichet+unknowntoken1@spsti-test.fr"):
            assert await asyncio.to_thread(rcpt_code, guichet.port, address) == 550, address
        assert await asyncio.to_thread(rcpt_code, guichet.port, "GUICHET@SPSTI-TEST.FR") == 250
        code, out = await swaks(guichet.port, "--to", "nobody@spsti-test.fr", "--from", GP)
        assert code != 0 and "550 5.1.1 No such recipient here" in out
        assert await count(hub, Request) == 0
    finally:
        await guichet.stop()


async def test_size_is_announced_and_enforced_and_pipelining_works(hub: Hub) -> None:
    hub.settings = hub.settings.with_(smtp_max_size=20_000)
    guichet = await start_guichet(hub, roles=("smtp",))
    try:
        def ehlo() -> str:
            with smtplib.SMTP("127.0.0.1", guichet.port) as client:
                client.ehlo("x")
                return client.ehlo_resp.decode() if client.ehlo_resp else ""
        features = await asyncio.to_thread(ehlo)
        assert "SIZE 20000" in features and "PIPELINING" in features
        code, out = await swaks(guichet.port, "--to", guichet.address, "--from", GP,
                                "--body", ("x" * 70 + "\n") * 400 + SIRET_TEXT)
        assert code != 0 and "552" in out
        code, out = await swaks(guichet.port, "--to", guichet.address, "--from", GP,  # an unwrapped 8bit line
                                "--header", "Subject: long line", "--body", "<p>" + "é" * 3000 + "</p>")
        assert code == 0, out
        code, out = await swaks(guichet.port, "--to", guichet.address, "--from", GP, "--pipeline",
                                "--header", "Subject: pipelined", "--body", SIRET_TEXT)
        assert code == 0, out
        assert "250 2.0.0 OK: GU-" in out
        assert await count(hub, Request) == 2
    finally:
        await guichet.stop()


async def test_empty_return_path_is_stored_but_never_acknowledged(hub: Hub) -> None:
    guichet = await start_guichet(hub, roles=("smtp",))
    try:
        code, out = await swaks(guichet.port, "--to", guichet.address, "--from", "<>",
                                "--header", "From: robot@logiciel.example", "--body", "Rappel automatique")
        assert code == 0, out
        assert await count(hub, Request) == 1
        assert await outbox_rows(hub, "ack") == []
    finally:
        await guichet.stop()


async def test_same_message_twice_is_stored_once(hub: Hub) -> None:
    guichet = await start_guichet(hub, roles=("smtp",))
    try:
        msg = gp_mail(SIRET_TEXT)
        first = await guichet.send(msg)
        second = await guichet.send(msg)
        assert first[0] == second[0] == 250 and first[1] == second[1]  # same reference both times
        assert await count(hub, Request) == 1 and await count(hub, Message) == 1
        assert len(await outbox_rows(hub, "ack")) == 1
        # the same Message-ID from another sender is another message
        other = gp_mail(SIRET_TEXT, sender="dr.lefevre@medecins-demo.fr")
        other.replace_header("Message-ID", msg["Message-ID"])
        assert (await guichet.send(other, mail_from="dr.lefevre@medecins-demo.fr"))[0] == 250
        assert await count(hub, Request) == 2
        # without a Message-ID, identical bytes are one message
        raw = b"From: dr.dubois@medecins-demo.fr\r\nTo: guichet@spsti-test.fr\r\nSubject: x\r\n\r\nsans id\r\n"
        assert (await guichet.send(raw))[0] == 250 and (await guichet.send(raw))[0] == 250
        assert await count(hub, Request) == 3
    finally:
        await guichet.stop()


async def test_storage_down_answers_451_and_nothing_is_lost(hub: Hub) -> None:
    guichet = await start_guichet(hub, roles=("smtp",))
    real_db, real_sessions = hub.db, hub.db.sessions
    broken = (Database(real_db.url.replace(":5432/", ":1/"), schema=real_db.schema) if real_db.is_postgres
              else Database("sqlite+aiosqlite:////nonexistent-dir/guichet.db"))
    try:
        msg = gp_mail(SIRET_TEXT)
        hub.db.sessions = broken.sessions  # every service holds this Database: all of them lose the storage
        code, text = await guichet.send(msg)
        assert code == 451 and b"4.3.0" in text
        # a reply address cannot be checked either: "try later", not "no such user"
        assert await asyncio.to_thread(rcpt_code, guichet.port, "guichet+abcdefgh@spsti-test.fr") == 451
        hub.db.sessions = real_sessions
        assert await count(hub, Request) == 0
        code, _ = await guichet.send(msg)  # the sender's retry
        assert code == 250 and await count(hub, Request) == 1
    finally:
        hub.db.sessions = real_sessions
        await broken.dispose()
        await guichet.stop()


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
async def test_starttls_offers_only_modern_tls(hub: Hub, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    hub.settings = hub.settings.with_(tls_cert=cert, tls_key=key)
    guichet = await start_guichet(hub, roles=("smtp",))
    try:
        def over_tls(maximum: ssl.TLSVersion) -> tuple[str, str, int]:
            ctx = ssl.create_default_context(cafile=str(cert))
            ctx.maximum_version = maximum
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            with smtplib.SMTP("localhost", guichet.port) as client:
                client.ehlo("cabinet.example")
                assert client.has_extn("starttls")
                client.starttls(context=ctx)
                sock = client.sock
                assert isinstance(sock, ssl.SSLSocket)
                version, cipher = sock.version() or "", (sock.cipher() or ("",))[0]
                client.ehlo("cabinet.example")
                refused = client.sendmail(GP, [guichet.address], gp_mail(SIRET_TEXT).as_bytes())
                return version, cipher, 0 if refused else 250
        version, cipher, code = await asyncio.to_thread(over_tls, ssl.TLSVersion.TLSv1_3)
        assert version == "TLSv1.3" and code == 250
        version, cipher, _ = await asyncio.to_thread(over_tls, ssl.TLSVersion.TLSv1_2)
        assert version == "TLSv1.2" and cipher.startswith("ECDHE") and ("GCM" in cipher or "CHACHA" in cipher)
        try:
            await asyncio.to_thread(over_tls, ssl.TLSVersion.TLSv1_1)
            raise AssertionError("TLS 1.1 was accepted")
        except (ssl.SSLError, smtplib.SMTPServerDisconnected, ConnectionError):
            pass
        assert await count(hub, Request) == 2
    finally:
        await guichet.stop()


async def test_mail_loop_our_own_message_is_dropped_and_answers_never_ack(hub: Hub) -> None:
    guichet = await start_guichet(hub, roles=("smtp",))
    try:
        own = gp_mail("Nous avons bien reçu votre message.", sender="guichet@spsti-test.fr")
        assert (await guichet.send(own, mail_from="guichet@spsti-test.fr"))[0] == 250
        auto = gp_mail("Absent", Auto_Submitted="auto-replied")
        assert (await guichet.send(auto))[0] == 250
        bulk = gp_mail("Lettre", Precedence="bulk")
        assert (await guichet.send(bulk))[0] == 250
        assert await count(hub, Request) == 2
        async with hub.db.session() as session:
            purposes = (await session.execute(select(OutboxItem.purpose))).scalars().all()
        assert "ack" not in purposes
    finally:
        await guichet.stop()
