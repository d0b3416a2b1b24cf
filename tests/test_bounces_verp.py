"""Bounces are believed only at the VERP return path of the outbound row they are about; what they say is
stripped of control characters before anything stores or prints it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from hub.bounces import printable
from hub.core import Hub
from hub.store.models import OutboxItem
from tests.conftest import wait_until
from tests.test_smtp_support import GP, gp_mail, rcpt_code, start_guichet

CORPUS = Path(__file__).parent / "mail_corpus"


def dsn(ack_id: str, diagnostic: str) -> bytes:
    raw = (CORPUS / "16_bounce_dsn_matches_ack.eml").read_bytes().replace(b"{{ACK_ID}}", ack_id.encode())
    return raw.replace(b"smtp; 552 5.2.2 Mailbox full", diagnostic.encode())


async def test_only_a_report_to_the_rows_return_path_is_believed(demo_hub: Hub) -> None:
    guichet = await start_guichet(demo_hub)
    try:
        assert (await guichet.send(gp_mail("SIRET 04423065100018, merci.")))[0] == 250
        async def ack_sent() -> bool:
            return any("Accusé" in str(m.message["Subject"]) for m in guichet.sink.messages)
        await wait_until(ack_sent)
        sent = next(m for m in guichet.sink.messages if "Accusé" in str(m.message["Subject"]))
        ack_row = demo_hub.return_paths.row_of(sent.mail_from.split("+", 1)[1].split("@")[0])
        async def ack_marked_sent() -> bool:  # the worker records "sent" just after the relay took the mail
            async with demo_hub.db.session() as session:
                return (await session.get(OutboxItem, ack_row)).status == "sent"  # type: ignore[union-attr]
        await wait_until(ack_marked_sent)
        async with demo_hub.db.session() as session:
            ack = (await session.execute(select(OutboxItem).where(OutboxItem.id == ack_row))).scalar_one()
        verp = demo_hub.return_paths.address(ack.id)
        assert sent.mail_from == verp and ack.purpose == "ack" and ack.status == "sent"
        ack_id = sent.message["Message-ID"]
        # a report to the plain address, naming our Message-ID: not believed
        assert (await guichet.send(dsn(ack_id, "smtp; 552 full"), mail_from=""))[0] == 250
        # a forged VERP address (wrong mac): refused at RCPT
        forged = verp.replace(verp.split(".")[-2][-12:], "0" * 12)
        assert await asyncio.to_thread(rcpt_code, guichet.port, forged, "") == 550
        async with demo_hub.db.session() as session:
            assert (await session.get(OutboxItem, ack.id)).status == "sent"  # type: ignore[union-attr]
        # the real one: the row is dead, the diagnostic without its terminal escapes
        evil = "smtp; 550 \x1b[2J\x1b]0;pwned\x07 gone"
        assert (await guichet.send(dsn(ack_id, evil), mail_from="", rcpt=[verp]))[0] == 250
        async with demo_hub.db.session() as session:
            row = await session.get(OutboxItem, ack.id)
        assert row is not None and row.status == "dead" and "gone" in (row.last_error or "")
        assert not any(c in (row.last_error or "") for c in "\x1b\x07")
    finally:
        await guichet.stop()


def test_printable_strips_controls_and_bidi() -> None:
    assert printable("a\x1b[31mb\r\nc\u202ed\x00") == "a [31mb  c d "
    assert GP  # the helper module's sender stays importable
