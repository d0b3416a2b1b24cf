"""The whole email loop in one test: GP mail in → ack out → physician replies through the inbox JSON API →
reply out → GP answers → the answer is in the same thread."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from connectors.smtp.sink import Received
from hub.core import Hub
from hub.demo import DEMO_PASSWORD
from hub.store.models import Request, Thread
from tests.accounts_support import json_login
from tests.test_smtp_support import GP, Guichet, count, gp_mail, message_bodies, only_request, rcpt_code, start_guichet

BODY = ("Bonjour,\n\nJe vous adresse M. Yannick KERBRAT, né le 14/03/1978, en arrêt depuis deux mois pour "
        "lombalgie. Il travaille chez Boulangerie du Port, SIRET 044 230 651 00018.\n"
        "Avec son accord, je souhaite organiser une visite de pré-reprise.\n\nDr Hélène Dubois\nRPPS 10000000074\n")


async def physician_replies(guichet: Guichet, thread: Thread, text: str) -> dict[str, Any]:
    """The physician answers through the inbox's JSON API (login, then ``POST /api/threads/{id}/reply``)."""
    base = f"http://127.0.0.1:{guichet.server.http_port}"
    http, headers = await json_login(guichet.server.hub, base, "anne.legoff@spsti-demo.fr", DEMO_PASSWORD)
    async with http:
        csrf = headers["X-CSRF-Token"]
        async with http.post(f"{base}/api/threads/{thread.id}/reply", json={"text": text},
                             headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 200, await r.text()
            result: dict[str, Any] = await r.json()
    return result


async def about(guichet: Guichet, thread: Thread, n: int) -> list[Received]:
    """The first ``n`` emails the relay received about ``thread`` (the demo's own requests send mail too)."""
    for _ in range(200):
        found = [m for m in guichet.sink.messages if thread.reference in str(m.message["Subject"])]
        if len(found) >= n:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError([(m.rcpt_tos, m.message["Subject"]) for m in guichet.sink.messages])


AUTHENTICATED = ("mx.spsti-test.fr; dkim=pass header.d=medecins-demo.fr header.s=s1; "
                 "spf=pass smtp.mailfrom=dr.dubois@medecins-demo.fr; dmarc=pass header.from=medecins-demo.fr")


async def test_gp_mail_ack_reply_and_answer_share_one_thread(demo_hub: Hub) -> None:
    # the SPSTI's border server authenticates mail, and this GP's domain may receive answers by plain email
    demo_hub.settings = demo_hub.settings.with_(trusted_authserv_id="mx.spsti-test.fr",
                                                plain_email_domains=("medecins-demo.fr",))
    guichet = await start_guichet(demo_hub, roles=("api", "smtp", "worker"))
    try:
        # 1. the GP writes to the single address (authenticated: the directory's GP is the requester)
        first = gp_mail(BODY, subject="Patient en arrêt long", Authentication_Results=AUTHENTICATED)
        code, answer = await guichet.send(first)
        assert code == 250, answer
        request, thread = await only_request(demo_hub)
        assert thread.reference.encode() in answer
        assert request.requester_kind == "gp" and request.requester_rpps == "10000000074"
        assert request.employer_siret == "04423065100018" and not request.in_triage

        # 2. the acknowledgement reaches the GP, in French, threaded under their message, without health data
        sent = await about(guichet, thread, 2)  # the ack and the physician's notification
        acks = [m for m in sent if GP in m.rcpt_tos]
        assert len(acks) == 1
        ack = acks[0].message
        text = ack.get_content()
        assert thread.reference in ack["Subject"] and "Accusé de réception" in ack["Subject"]
        assert "Nous avons bien reçu votre message" in text and thread.reference in text
        assert "Dr Anne Le Goff" in text and "Équipe Nantes 1" in text  # an authenticated sender (issue 10)
        assert "Kerbrat" not in text.lower().title() and "lombalgie" not in text and "KERBRAT" not in text
        assert ack["In-Reply-To"] == first["Message-ID"] and ack["References"] == first["Message-ID"]
        assert ack["Reply-To"] == f"guichet+{thread.reply_token}@spsti-test.fr"
        assert ack["Auto-Submitted"] == "auto-replied" and ack["From"] == "guichet@spsti-test.fr"
        notice = next(m for m in sent if "anne.legoff@spsti-demo.fr" in m.rcpt_tos).message.get_content()
        assert f"/inbox/threads/{thread.id}" in notice and "lombalgie" not in notice

        # 3. the physician replies; 4. the reply leaves from the guichet address, threaded, with Reply-To
        result = await physician_replies(guichet, thread, "Bonjour, je le reçois mardi 10 h. Dr Le Goff")
        assert result["message_id"]
        sent = await about(guichet, thread, 3)
        reply = sent[2].message
        assert sent[2].rcpt_tos == [GP]
        assert reply["From"] == "guichet@spsti-test.fr" and "Réponse" in reply["Subject"]
        assert reply["Reply-To"] == ack["Reply-To"]
        assert reply["In-Reply-To"] == first["Message-ID"] and first["Message-ID"] in reply["References"]
        assert "je le reçois mardi" in reply.get_content()

        # 5. the GP answers from their client: to the Reply-To address, quoting the reply
        answer_msg = EmailMessage()
        answer_msg["From"] = f"Dr Hélène Dubois <{GP}>"
        answer_msg["To"] = reply["Reply-To"]
        answer_msg["Subject"] = "Re: " + reply["Subject"]
        answer_msg["Message-ID"] = make_msgid(domain="medecins-demo.fr")
        answer_msg["In-Reply-To"] = reply["Message-ID"]
        answer_msg["References"] = f"{reply['References']} {reply['Message-ID']}"
        quoted = "\n".join("> " + line for line in reply.get_content().splitlines())
        answer_msg.set_content(f"Parfait, merci. Il sera présent.\n\nLe 12/01/2026, Guichet a écrit :\n{quoted}\n")
        code, _ = await guichet.send(answer_msg, rcpt=[reply["Reply-To"]])
        assert code == 250

        # 6. the answer is in the same thread (no new request), without the quoted history
        assert await count(demo_hub, Request, Request.source_key.like("email:%")) == 1
        messages = await message_bodies(demo_hub, thread.id)
        inbound = [(m, body) for m, body in messages if m.direction == "in"]
        assert [m.kind for m, _ in inbound] == ["request", "reply"]
        assert inbound[1][1] == "Parfait, merci. Il sera présent."
        assert inbound[1][0].rfc822_id == answer_msg["Message-ID"]
        # and the physician is told something new arrived
        sent = await about(guichet, thread, 4)
        assert "anne.legoff@spsti-demo.fr" in sent[3].rcpt_tos and "Nouveau message" in sent[3].message["Subject"]
        # a reply address with an unknown token is refused
        assert await asyncio.to_thread(rcpt_code, guichet.port, "guichet+zzzzzzzzzzzzzzzz@spsti-test.fr") == 550
    finally:
        await guichet.stop()
