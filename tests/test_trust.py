"""Sender trust and where answers go: Authentication-Results read only from the trusted server, a quoted RPPS is
only a suggestion, and the spoofing case (an unknown address quoting a GP's RPPS) over real SMTP and the real
inbox API: the clinical answer never goes to that address with its content."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from connectors.smtp import authres
from connectors.smtp.parse import parse_mail
from hub.config import load_settings
from hub.core import Hub
from hub.demo import DEMO_PASSWORD
from hub.store.models import Message, OutboxItem, Practitioner, Request
from hub.trust.answers import AnswerFacts, decide
from tests.accounts_support import otp_for
from tests.conftest import wait_until
from tests.consent_support import consent_given
from tests.inbox_support import ANNE, new_request, place, practitioner, viewer
from tests.test_smtp_support import gp_mail, only_request, start_guichet

CORPUS = Path(__file__).parent / "mail_corpus"
MX = "mx.spsti-test.fr"
SPOOFER = "contact@cabinet-lilas-demo.fr"
ANSWER = "Je reçois votre patient mardi ; son aptitude est compromise par la lombalgie."


def mail_with(*results: str, sender: str = "dr.dubois@medecins-demo.fr") -> Any:
    head = "".join(f"Authentication-Results: {r}\r\n" for r in results)
    return parse_mail((f"{head}From: Dr X <{sender}>\r\nTo: guichet@spsti-test.fr\r\nSubject: s\r\n"
                       "Message-ID: <a@b>\r\n\r\nBonjour\r\n").encode())


@pytest.mark.parametrize(("results", "expected"), [
    ([f"{MX}; dmarc=pass (p=reject) header.from=medecins-demo.fr"], "verified"),
    ([f"{MX} 1; dkim=pass header.d=medecins-demo.fr header.s=k; dmarc=none"], "verified"),
    ([f"{MX}; spf=pass smtp.mailfrom=bounce@mail.medecins-demo.fr"], "verified"),
    ([f"{MX}; dkim=pass header.d=mailer.example; spf=pass smtp.mailfrom=mailer.example"], "unverified"),
    ([f"{MX}; dkim=pass header.d=medecins-demo.fr; dmarc=fail header.from=medecins-demo.fr"], "unverified"),
    ([f"{MX}; dmarc=pass header.from=other.example"], "unverified"),
    ([f"{MX}; spf=softfail smtp.mailfrom=medecins-demo.fr; dkim=none"], "unverified"),
    ([f"{MX}; none"], "unverified"),
    (["mx.attacker.example; dmarc=pass header.from=medecins-demo.fr"], "unverified"),  # not our server
    ([f"{MX}; dmarc=fail header.from=medecins-demo.fr",  # ours, on top; a forged "pass" below is ignored
      f"{MX}; dmarc=pass header.from=medecins-demo.fr"], "unverified"),
    ([f"{MX}; dkim=pass header.d=fr"], "unverified"),  # a bare top-level domain aligns with nothing
    ([], "unverified"),
])
def test_authentication_results_rule(results: list[str], expected: str) -> None:
    assert authres.trust_of(mail_with(*results), MX) == expected
    assert authres.trust_of(mail_with(*results), None) == "unverified"  # no trusted server configured


def test_folded_header_with_comments_is_read() -> None:
    raw = (b"Authentication-Results: mx.spsti-test.fr;\r\n\tdkim=pass (2048-bit key) header.d=medecins-demo.fr;\r\n"
           b"\tdmarc=pass (p=none dis=none) header.from=medecins-demo.fr\r\nFrom: a@medecins-demo.fr\r\n"
           b"Subject: x\r\n\r\nBonjour\r\n")
    assert authres.trust_of(parse_mail(raw), MX) == "verified"
    assert authres.trust_of(parse_mail(raw.replace(b"a@medecins-demo.fr", b"a@autre.fr")), MX) == "unverified"


def test_settings_default_to_the_safe_choice(tmp_path: Path) -> None:
    env = {"GUICHET_HOME": str(tmp_path), "GUICHET_CONFIG": str(tmp_path / "none.toml")}
    settings = load_settings(env)
    assert (settings.trusted_authserv_id, settings.plain_email_domains, settings.pickup_days) == (None, (), 14)
    toml = tmp_path / "guichet.toml"
    toml.write_text('trusted_authserv_id = "MX.SPSTI.fr"\nplain_email_domains = ["chu-exemple.fr", "@Ch.fr"]\n')
    settings = load_settings({**env, "GUICHET_CONFIG": str(toml)})
    assert settings.trusted_authserv_id == "mx.spsti.fr"
    assert settings.plain_email_domains == ("ch.fr", "chu-exemple.fr")


@pytest.mark.parametrize(("facts", "via", "confirm"), [
    (AnswerFacts("fhir", "api", None, None), "api", False),
    (AnswerFacts("mssante", "mssante", "dr@x.mssante.fr", None), "mssante", False),
    (AnswerFacts("email", "verified", "dr@medecins-demo.fr", "dr@x.mssante.fr"), "mssante", False),
    (AnswerFacts("email", "verified", "dr@medecins-demo.fr", None), "email", False),  # allowed domain
    (AnswerFacts("email", "verified", "dr@elsewhere.fr", None), "pickup", False),
    (AnswerFacts("form", "form", "salarie@example.fr", None), "pickup", False),
    (AnswerFacts("form", "form", "dr@example.fr", "dr@x.mssante.fr"), "pickup", False),  # a typed RPPS: a claim
    (AnswerFacts("email", "unverified", "dr@medecins-demo.fr", None), "pickup", True),  # never plain
    (AnswerFacts("email", "unverified", None, None), "none", False),
])
def test_one_decision_for_where_answers_go(facts: AnswerFacts, via: str, confirm: bool, tmp_path: Path) -> None:
    settings = load_settings({"GUICHET_HOME": str(tmp_path), "GUICHET_CONFIG": str(tmp_path / "none.toml"),
                              "GUICHET_PLAIN_EMAIL_DOMAINS": "medecins-demo.fr"})
    route = decide(facts, settings)
    assert (route.via, route.needs_confirmation) == (via, confirm) and route.explanation


async def _login(base: str, hub: Hub) -> tuple[aiohttp.ClientSession, dict[str, str]]:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(f"{base}/api/login", json={"email": ANNE, "password": DEMO_PASSWORD,
                                                    "otp": await otp_for(hub, ANNE)}) as r:
        assert r.status == 200, await r.text()
        return http, {"X-CSRF-Token": (await r.json())["csrf_token"]}


async def test_spoofed_rpps_never_gets_the_clinical_answer(demo_hub: Hub) -> None:
    """The outside review's case: an unknown address quotes Dr Lefèvre's (public) RPPS."""
    demo_hub.settings = demo_hub.settings.with_(trusted_authserv_id=MX, plain_email_domains=("cabinet-lilas-demo.fr",
                                                                                             "medecins-demo.fr"))
    guichet = await start_guichet(demo_hub, roles=("api", "smtp", "worker"))
    try:
        raw = (CORPUS / "22_unknown_address_rpps_signature.eml").read_bytes()
        code, _ = await guichet.send(raw, mail_from=SPOOFER)
        assert code == 250
        request, thread = await only_request(demo_hub)
        assert request.requester_rpps is None  # nobody is established by a quoted number
        await consent_given(demo_hub, thread.id)  # the consent gate (issue 13): the worker agreed, by phone
        base = f"http://127.0.0.1:{guichet.server.http_port}"
        http, csrf = await _login(base, demo_hub)
        async with http:
            view = await (await http.get(f"{base}/api/threads/{thread.id}")).json()
            first = view["messages"][0]
            assert first["trust"] == "unverified" and first["trust_label"] == "Expéditeur non vérifié"
            assert first["claim"] == "se présente comme Dr Marc Lefèvre, non vérifié"
            assert view["request"]["requester"]["rpps"] is None
            assert view["answer_route"]["via"] == "pickup" and view["answer_route"]["needs_confirmation"]
            page = await (await http.get(f"{base}/inbox/threads/{thread.id}")).text()
            assert "se présente comme Dr Marc Lefèvre, non vérifié" in page and "Expéditeur non vérifié" in page
            assert 'name="confirm_unverified"' in page
            # without the explicit confirmation: refused, nothing written (HTML form and JSON alike)
            async with http.post(f"{base}/inbox/threads/{thread.id}/reply",
                                 data={"text": ANSWER, "csrf_token": csrf["X-CSRF-Token"]}) as r:
                assert r.status == 409 and "confirmez" in await r.text()
            async with http.post(f"{base}/api/threads/{thread.id}/reply", json={"text": ANSWER},
                                 headers=csrf) as r:
                assert r.status == 409 and "confirmez" in (await r.json())["error"]
            async with http.post(f"{base}/api/threads/{thread.id}/reply",
                                 json={"text": ANSWER, "confirm_unverified": True}, headers=csrf) as r:
                assert r.status == 200, await r.text()
        # the address gets only a link, never the text; nobody gets the text by email
        await wait_until(lambda: _sent_to(guichet, SPOOFER, "Une réponse vous attend"))
        await asyncio.sleep(0.3)
        for received in guichet.sink.messages:
            body = received.message.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            assert "lombalgie" not in text and "aptitude" not in text, received.rcpt_tos
        link = [m for m in guichet.sink.messages if SPOOFER in m.rcpt_tos and "/retrait/" in m.raw.decode()]
        assert len(link) == 1
        async with demo_hub.db.session() as session:
            rows = (await session.execute(select(OutboxItem).where(OutboxItem.thread_id == thread.id))).scalars()
            assert {(o.kind, o.purpose) for o in rows} == {("email", "ack"), ("email", "notify"), ("email", "pickup")}
            out = (await session.execute(select(Message).where(Message.thread_id == thread.id,
                                                                Message.direction == "out"))).scalar_one()
            assert out.channel == "retrait"
    finally:
        await guichet.stop()


async def _sent_to(guichet: Any, address: str, subject: str) -> bool:
    return any(address in m.rcpt_tos and subject in str(m.message["Subject"]) for m in guichet.sink.messages)


async def test_forged_directory_address_is_unverified_but_authenticated_one_is_the_gp(demo_hub: Hub) -> None:
    demo_hub.settings = demo_hub.settings.with_(trusted_authserv_id=MX)
    guichet = await start_guichet(demo_hub, roles=("smtp",))
    try:
        body = "Bonjour, salarié de Boulangerie du Port (SIRET 04423065100018).\nDr Hélène Dubois"
        forged = gp_mail(body, Authentication_Results="mx.elsewhere.example; dmarc=pass header.from=medecins-demo.fr")
        assert (await guichet.send(forged))[0] == 250
        request, _ = await only_request(demo_hub)
        async with demo_hub.db.session() as session:
            first = (await session.execute(select(Message).where(Message.request_id == request.id))).scalar_one()
        assert (first.trust, first.claimed_rpps, request.requester_rpps) == ("unverified", "10000000074", None)
        genuine = gp_mail(body, Authentication_Results=f"{MX}; dmarc=pass header.from=medecins-demo.fr")
        assert (await guichet.send(genuine))[0] == 250
        async with demo_hub.db.session() as session:
            rows = (await session.execute(select(Request, Message).join(Message, Message.request_id == Request.id)
                                          .where(Request.id != request.id, Request.source_key.like("email:%")))).all()
        (second, message), = rows
        assert (message.trust, message.claimed_rpps, second.requester_rpps) == ("verified", None, "10000000074")
    finally:
        await guichet.stop()


async def test_requester_with_mssante_address_is_answered_by_mssante(demo_hub: Hub) -> None:
    """An established requester whose directory entry has an MSSanté address: an outbox row of kind ``mssante``
    (delivered by the MSSanté transport), and no plain email."""
    from hub.inbox import actions

    hub = demo_hub
    async with hub.db.session() as session, session.begin():
        await session.execute(update(Practitioner).where(Practitioner.rpps == "10000000074")
                              .values(mssante="helene.dubois@medecin.mssante.fr"))
    thread_id, task_id, _ = await new_request(hub, trust="verified")
    await place(hub, task_id, assigned_practitioner_id=(await practitioner(hub, "anne")).id)
    await actions.reply(hub, await viewer(hub, ANNE), thread_id, ANSWER)
    async with hub.db.session() as session:
        rows = (await session.execute(select(OutboxItem).where(OutboxItem.thread_id == thread_id,
                                                               OutboxItem.purpose == "reply"))).scalars().all()
        payloads = [(o.kind, await hub.outbox.payload(session, o)) for o in rows]
    assert [(k, p["to"]) for k, p in payloads] == [("mssante", ["helene.dubois@medecin.mssante.fr"])]
    assert "aptitude" in payloads[0][1]["text"]  # the secure channel carries the content


async def test_form_requester_is_answered_by_pickup_and_fhir_client_in_the_api(demo_hub: Hub) -> None:
    """A public form's requester (declared identity) gets a pickup link; an API client's request gets no email."""
    from hub.inbox import actions

    hub = demo_hub
    anne = await viewer(hub, ANNE)
    form_thread, form_task, _ = await new_request(hub, channel="form", trust="form")
    fhir_thread, fhir_task, _ = await new_request(hub, channel="fhir", trust="api")
    for task in (form_task, fhir_task):
        await place(hub, task, assigned_practitioner_id=(await practitioner(hub, "anne")).id)
    await actions.reply(hub, anne, form_thread, ANSWER)
    await actions.reply(hub, anne, fhir_thread, ANSWER)
    async with hub.db.session() as session:
        rows = (await session.execute(select(OutboxItem).where(
            OutboxItem.thread_id.in_((form_thread, fhir_thread)), OutboxItem.purpose.in_(("reply", "pickup")))
        )).scalars().all()
        payloads = [(o.thread_id, o.purpose, await hub.outbox.payload(session, o)) for o in rows]
        channels = dict((await session.execute(select(Message.thread_id, Message.channel).where(
            Message.thread_id.in_((form_thread, fhir_thread)), Message.direction == "out"))).all())
    assert [(t, p) for t, p, _ in payloads] == [(form_thread, "pickup")]
    assert "aptitude" not in payloads[0][2]["text"]
    assert channels == {form_thread: "retrait", fhir_thread: "fhir"}
