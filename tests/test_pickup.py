"""Secure pickup (/retrait/{token}): the service's rules (one-time code, 5 attempts, expiry, only digests stored,
every opening audited) and the whole loop in headless Chromium: the link email, the code email, reading the
answer and its attachment, answering in the same thread; axe finds nothing serious."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from playwright.async_api import Page
from sqlalchemy import select, update

from hub.audit import Actor
from hub.core import Hub
from hub.demo import DEMO_PASSWORD
from hub.inbox import actions
from hub.inbox.threads import open_thread
from hub.intake.drafts import MessageDraft
from hub.pickup import service
from hub.pickup.service import PickupError
from hub.references import token_digest
from hub.store.models import Attachment, AuditEvent, Message, Pickup, Request, Thread, utcnow
from tests.accounts_support import otp_for
from tests.browser import axe_violations, chromium_page, needs_chromium
from tests.conftest import wait_until
from tests.inbox_support import ANNE, new_request, place, practitioner, viewer
from tests.pickup_support import last_code, link_token, outbox_texts
from tests.test_smtp_support import start_guichet

ANSWER = "Je reçois M. Martin le 3 décembre ; la reprise à temps partiel est envisageable."


async def _answered(hub: Hub) -> tuple[str, str, str]:
    """A verified sender's request answered by Dr Le Goff: (thread id, token, outbound message id)."""
    thread_id, task_id, _ = await new_request(hub, family="Martin")
    await place(hub, task_id, assigned_practitioner_id=(await practitioner(hub, "anne")).id)
    result = await actions.reply(hub, await viewer(hub, ANNE), thread_id, ANSWER)
    links = await outbox_texts(hub, thread_id, "pickup")
    assert len(links) == 1 and links[0]["to"] == ["dr.dubois@medecins-demo.fr"]
    assert "Martin" not in links[0]["text"] and "temps partiel" not in links[0]["text"]
    assert result.message_id
    return thread_id, link_token(links[0]["text"]), result.message_id


def _raw_sqlite(path: str) -> bytes:
    """The SQLite file and its write-ahead log, as bytes."""
    files = [Path(path), Path(path + "-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


async def test_code_attempts_expiry_and_digests(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_id, token, message_id = await _answered(hub)
    async with hub.db.session() as session:
        pickup = (await session.execute(select(Pickup))).scalar_one()
        assert pickup.token_digest == token_digest(token)
        assert token not in repr([getattr(pickup, c.key) for c in Pickup.__table__.columns])
        assert b"dr.dubois" not in pickup.recipient_enc
        assert pickup.expires_at - utcnow() > timedelta(days=13, hours=23)  # 14 days by default
    state = await service.open_link(hub, token, "198.51.100.7")
    assert (state.status, state.code_sent, state.attempts_left) == ("waiting", False, 5)
    with pytest.raises(PickupError, match="demandez un nouveau code"):
        await service.check_code(hub, token, "123456")
    with pytest.raises(PickupError) as unknown:
        await service.open_link(hub, "x" * 43)
    assert unknown.value.status == 404
    await service.send_code(hub, token)
    code = await last_code(hub, thread_id)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(PickupError, match=f"Il vous reste {left} essai") as refused:
            await service.check_code(hub, token, wrong)
        assert refused.value.status == 400
    with pytest.raises(PickupError, match="bloqué") as locked:
        await service.check_code(hub, token, wrong)
    assert locked.value.status == 410
    with pytest.raises(PickupError):  # even the right code, now
        await service.check_code(hub, token, code)
    with pytest.raises(PickupError) as gone:
        await service.open_link(hub, token)
    assert gone.value.status == 410
    async with hub.db.session() as session:
        denied = (await session.execute(select(AuditEvent.detail).where(
            AuditEvent.entity_type == "Pickup", AuditEvent.outcome == "denied"))).scalars().all()
        opened = (await session.execute(select(AuditEvent).where(
            AuditEvent.entity_type == "Pickup", AuditEvent.detail == "link opened"))).scalars().all()
    assert sum("wrong code" in (d or "") for d in denied) == 5
    assert [(e.actor.startswith("retrait:"), e.source) for e in opened] == [(True, "198.51.100.7")]

    # a second answer, a second pickup: unlock, read (with an attachment), answer; then it expires
    await hub.intake.add_message(  # the sender writes again so the physician may answer again
        MessageDraft(thread_id=thread_id, channel="email", source_key="test:again", author_label="Dr Dubois",
                     body="?", trust="verified"), Actor("test"))
    result = await actions.reply(hub, await viewer(hub, ANNE), thread_id, "Compte rendu joint. Canarypickupalpha.")
    links = await outbox_texts(hub, thread_id, "pickup")
    token2 = re.search(r"/retrait/([A-Za-z0-9_-]+)", links[-1]["text"]).group(1)  # type: ignore[union-attr]
    async with hub.db.session() as session, session.begin():
        out = await session.get(Message, result.message_id)
        assert out is not None
        key = hub.sealer.new_key(session)
        session.add(Attachment(id="att-1", message_id=out.id, content_type="application/pdf", size=8,
                               data_key_id=key.id, filename_enc=hub.sealer.seal(key, "attachments", "att-1",
                                                                                "filename", "cr.pdf"),
                               content_enc=hub.sealer.seal(key, "attachments", "att-1", "content", b"%PDF-1.4")))
    for _ in range(5):
        await service.send_code(hub, token2)
    with pytest.raises(PickupError) as too_many:
        await service.send_code(hub, token2)
    assert too_many.value.status == 429
    secret = await service.check_code(hub, token2, await last_code(hub, thread_id))
    with pytest.raises(PickupError) as nosession:
        await service.read(hub, token2, "not-the-secret")
    assert nosession.value.status == 401
    content = await service.read(hub, token2, secret)
    assert content.body == "Compte rendu joint. Canarypickupalpha."
    assert [a.filename for a in content.attachments] == ["cr.pdf"]
    assert await service.download(hub, token2, secret, "att-1") == ("cr.pdf", "application/pdf", b"%PDF-1.4")
    with pytest.raises(PickupError):  # the first pickup's message is not reachable from the second
        await service.read(hub, token, secret)
    answer_id = await service.answer(hub, token2, secret, "Merci, Canarypickupbeta.", "n1")
    assert await service.answer(hub, token2, secret, "Merci, Canarypickupbeta.", "n1") == answer_id  # resent: one
    async with hub.db.session() as session:
        answer = await session.get(Message, answer_id)
        assert answer is not None and (answer.thread_id, answer.direction, answer.trust) == (thread_id, "in",
                                                                                              "verified")
        reads = (await session.execute(select(AuditEvent.entity_type).where(
            AuditEvent.actor.like("retrait:%"), AuditEvent.action == "read",
            AuditEvent.outcome == "success"))).scalars().all()
    assert {"Communication", "Attachment", "Pickup"} <= set(reads)
    # the physician sees, on each answer, what became of its pickup
    view = await open_thread(hub, await viewer(hub, ANNE), thread_id)
    deliveries = [m.delivery for m in view.messages if m.direction == "out"]
    assert deliveries[0] == "retrait sécurisé bloqué (trop de codes erronés)"
    assert deliveries[1] is not None and deliveries[1].startswith("lu par retrait sécurisé le ")
    assert view.to_json()["messages"][-2]["delivery"] == deliveries[1]
    if hub.settings.database_url.startswith("sqlite"):  # canary: neither text is in the raw file, nor the token
        raw = _raw_sqlite(hub.settings.database_url.split("///", 1)[1])
        assert b"anarypickup" not in raw.lower() and token2.encode() not in raw and secret.encode() not in raw
    async with hub.db.session() as session, session.begin():
        await session.execute(update(Pickup).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(PickupError) as expired:
        await service.read(hub, token2, secret)
    assert expired.value.status == 410




@pytest.mark.browser
@needs_chromium
async def test_full_pickup_loop_in_chromium(demo_hub: Hub) -> None:
    hub = demo_hub
    guichet = await start_guichet(hub, roles=("api", "smtp", "worker"))
    base = f"http://127.0.0.1:{guichet.server.http_port}"
    try:
        async with hub.db.session() as session:
            thread = (await session.execute(select(Thread).join(Request, Request.thread_id == Thread.id)
                                            .where(Request.source_key == "demo:1"))).scalar_one()
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(f"{base}/api/login", json={"email": ANNE, "password": DEMO_PASSWORD,
                                                            "otp": await otp_for(hub, ANNE)}) as r:
                csrf = {"X-CSRF-Token": (await r.json())["csrf_token"]}
            async with http.post(f"{base}/api/threads/{thread.id}/reply", json={"text": ANSWER},
                                 headers=csrf) as r:
                assert r.status == 200, await r.text()

        def mails(subject: str) -> list[Any]:
            return [m.message for m in guichet.sink.messages if subject in str(m.message["Subject"])]

        async def arrived(subject: str, n: int = 1) -> bool:
            return len(mails(subject)) >= n

        await wait_until(lambda: arrived("Une réponse vous attend"))
        link_mail = mails("Une réponse vous attend")[0]
        text = link_mail.get_content()
        assert "temps partiel" not in text and "Kerbrat" not in text
        link = re.search(r"(http://\S+/retrait/[A-Za-z0-9_-]+)", text).group(1)  # type: ignore[union-attr]
        problems: list[str] = []
        async with chromium_page() as raw:
            page = cast(Page, raw)
            page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
            await page.goto(link)
            assert thread.reference in await page.locator("h1").inner_text()
            assert "temps partiel" not in await page.content()
            assert await axe_violations(page) == []
            await page.get_by_role("button", name="Recevoir un code par courriel").click()
            await page.wait_for_url(f"{link}?fait=code")
            await wait_until(lambda: arrived("Votre code de retrait"))
            code_text = mails("Votre code de retrait")[0].get_content()
            assert "temps partiel" not in code_text
            code = re.search(r"\b(\d{6})\b", code_text).group(1)  # type: ignore[union-attr]
            assert await axe_violations(page) == []
            await page.get_by_label("Code reçu par courriel").fill("000000" if code != "000000" else "111111")
            await page.get_by_role("button", name="Lire la réponse").click()
            assert "Il vous reste 4 essai" in await page.locator(".error").inner_text()
            await page.get_by_label("Code reçu par courriel").fill(code)
            await page.get_by_role("button", name="Lire la réponse").click()
            await page.wait_for_url(link)
            assert "temps partiel est envisageable" in await page.locator("#reponse").inner_text()
            assert await axe_violations(page) == []
            if os.environ.get("GUICHET_SCREENSHOTS"):
                await page.screenshot(path=os.path.join(os.environ["GUICHET_SCREENSHOTS"], "retrait.png"),
                                      full_page=True)
            await page.get_by_label("Votre réponse").fill("Merci docteur, il sera présent le 3 décembre.")
            await page.get_by_role("button", name="Envoyer ma réponse").click()
            await page.wait_for_url(f"{link}?fait=reponse")
            assert "bien été transmise" in await page.locator(".notice").inner_text()
            assert await axe_violations(page) == []
        assert not [p for p in problems if "Content Security Policy" in p], problems
        async with hub.db.session() as session:
            inbound = (await session.execute(select(Message).where(
                Message.thread_id == thread.id, Message.direction == "in").order_by(Message.created_at)
            )).scalars().all()
            body = await hub.sealer.open_text(session, inbound[-1].data_key_id, "messages", inbound[-1].id, "body",
                                              inbound[-1].body_enc)
        assert (inbound[-1].channel, inbound[-1].trust, body) == ("retrait", "verified",
                                                                  "Merci docteur, il sera présent le 3 décembre.")
        # and the physician is told something new arrived, without its content
        await wait_until(lambda: arrived("Nouveau message"))
        assert "il sera présent" not in mails("Nouveau message")[0].get_content()
    finally:
        await guichet.stop()


@pytest.mark.browser
@needs_chromium
async def test_physician_confirms_an_unverified_sender_in_chromium(demo_hub: Hub) -> None:
    """The spoofed request in the inbox: the claim is shown in words, sending needs the box ticked, and the answer
    still leaves only as a pickup link."""
    from tests.consent_support import consent_given
    from tests.inbox_support import PASSWORD

    hub = demo_hub
    guichet = await start_guichet(hub, roles=("api", "smtp", "worker"))
    base = f"http://127.0.0.1:{guichet.server.http_port}"
    try:
        raw = (Path(__file__).parent / "mail_corpus" / "22_unknown_address_rpps_signature.eml").read_bytes()
        assert (await guichet.send(raw, mail_from="contact@cabinet-lilas-demo.fr"))[0] == 250
        async with hub.db.session() as session:
            thread_id = (await session.execute(select(Thread.id).join(Request, Request.thread_id == Thread.id)
                                               .where(Request.source_key.like("email:%")))).scalar_one()
        await consent_given(hub, thread_id)  # the consent gate (issue 13): the worker agreed, by phone
        async with chromium_page() as raw_page:
            page = cast(Page, raw_page)
            await page.goto(f"{base}/inbox/login")
            await page.get_by_label("Adresse électronique").fill(ANNE)
            await page.get_by_label("Mot de passe").fill(PASSWORD)
            await page.get_by_label("Code de vérification").fill(await otp_for(hub, ANNE) or "")
            await page.get_by_role("button", name="Se connecter").click()
            await page.wait_for_url(f"{base}/inbox")
            await page.goto(f"{base}/inbox/threads/{thread_id}")
            history = await page.locator(".history").inner_text()
            assert "Expéditeur non vérifié" in history
            assert "se présente comme Dr Marc Lefèvre, non vérifié" in history
            assert await axe_violations(page) == []
            if os.environ.get("GUICHET_SCREENSHOTS"):
                await page.screenshot(path=os.path.join(os.environ["GUICHET_SCREENSHOTS"], "unverified.png"),
                                      full_page=True)
            await page.get_by_label("Répondre à l'expéditeur").fill(ANSWER)
            await page.get_by_label("Je confirme l'envoi à cette adresse non vérifiée").first.check()
            await page.get_by_role("button", name="Envoyer la réponse").click()
            await page.wait_for_url(f"{base}/inbox/threads/{thread_id}?fait=reply")
        await wait_until(lambda: _arrived(guichet, "Une réponse vous attend"))
        for received in guichet.sink.messages:
            assert "temps partiel" not in received.raw.decode("utf-8", "replace")
    finally:
        await guichet.stop()


async def _arrived(guichet: Any, subject: str) -> bool:
    return any(subject in str(m.message["Subject"]) for m in guichet.sink.messages)


async def test_pickup_pages_refuse_clearly(demo_hub: Hub, start_server: Any) -> None:
    """Over real HTTP: an unknown link is a French 404 page, a POST from another origin is refused, an answer
    without the session's CSRF token is refused, and the pages are never cached."""
    srv = await start_server(demo_hub)
    _, token, _ = await _answered(demo_hub)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{srv.url}/retrait/{'x' * 43}") as r:
            assert r.status == 404 and "pas valable" in await r.text()
        async with http.get(f"{srv.url}/retrait/{token}") as r:
            assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
            assert "Recevoir un code" in await r.text() and "temps partiel" not in await r.text()
        async with http.post(f"{srv.url}/retrait/{token}/code", headers={"Origin": "https://evil.example"},
                             allow_redirects=False) as r:
            assert r.status == 403
        async with http.post(f"{srv.url}/retrait/{token}/code", allow_redirects=False) as r:
            assert r.status == 303
        async with http.post(f"{srv.url}/retrait/{token}/reponse", data={"text": "x", "nonce": "n"},
                             allow_redirects=False) as r:
            assert r.status == 403 and "expiré" in await r.text()
        async with http.post(f"{srv.url}/retrait/{token}", data={"code": "12"}, allow_redirects=False) as r:
            assert r.status == 400 and "Il vous reste 4 essai" in await r.text()
