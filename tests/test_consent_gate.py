"""The consent gate: every way clinical content leaves the hub refuses without consent, says why, audits it.

``OUTGOING`` lists the outgoing paths; ``test_every_outgoing_route_is_listed`` fails when an inbox route is added
without being classified here, so a new transport or action cannot skip the gate unnoticed. ``AT_DEPARTURE``
lists what the outbox carries with clinical content (each transport and each kind of content): queued while
allowed, then the worker withdraws or objects, and the row must not leave when the outbox worker delivers it; the
secure pickup is checked again when its correspondent opens it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select, update

from hub import clock
from hub.consent import recommendations as reco
from hub.consent.dispatch import dispatch_due
from hub.consent.gate import ConsentRefused
from hub.consent.service import consents_of, record_for
from hub.core import Hub
from hub.inbox import actions
from hub.inbox.threads import open_thread
from hub.intake import ConsentStatement
from hub.outbox import OutboxWorker
from hub.pickup import service as pickup
from hub.pickup.service import PickupError
from hub.store.models import Message, OutboxItem, Practitioner, Recommendation, utcnow
from hub.web.app import build_app
from tests.accounts_support import otp_for
from tests.consent_support import (
    PERMIT,
    Recorder,
    denied_transfers,
    outbox_purposes,
    recommendation_states,
    submit,
)
from tests.inbox_support import ANNE, PASSWORD, new_request, place, practitioner, status_of, viewer
from tests.pickup_support import last_code, link_token, outbox_texts

Path = Callable[[Hub, str], Awaitable[object]]


async def _reply(hub: Hub, thread_id: str) -> object:
    return await actions.reply(hub, await viewer(hub, ANNE), thread_id, "Voici mon avis sur la reprise.", "t")


async def _ask(hub: Hub, thread_id: str) -> object:
    return await actions.ask_info(hub, await viewer(hub, ANNE), thread_id, "Date de reprise prévue ?", "t")


def _draft(*recipients: str) -> reco.RecommendationDraft:
    return reco.RecommendationDraft(text="Prévoir un poste sans port de charges lourdes.", checklist=["poste"],
                                    recipients=list(recipients),
                                    addresses={"employer": "rh@conserverie.example",
                                               "medecin-conseil": "mc@cpam.mssante.fr"})


async def _reco_employer(hub: Hub, thread_id: str) -> object:
    return await reco.send(hub, await viewer(hub, ANNE), thread_id, _draft("employer"), "t")


async def _reco_mc(hub: Hub, thread_id: str) -> object:
    return await reco.send(hub, await viewer(hub, ANNE), thread_id, _draft("medecin-conseil"), "t")


FHIR = {"channel": "fhir", "kind": "coordinator", "consent": PERMIT}
WORKER = {"event": "pre-return", "channel": "form", "kind": "worker", "worker_email": "claire@example.org",
          "requester_email": "claire@example.org"}
# name → (request, purpose that must be refused, the call, what blocks it: no consent, a withdrawal, an objection)
OUTGOING: dict[str, tuple[dict[str, object], str, Path, str]] = {
    "reply to a GP by email": ({"channel": "email"}, "exchange-gp", _reply, "consent"),
    "ask-info to a GP by email": ({"channel": "email"}, "exchange-gp", _ask, "consent"),
    # the API and the forms refuse a request without consent (hub.intake): the worker withdraws it afterwards
    "reply to a CPTS/DAC by the FHIR API": (FHIR, "exchange-cpts-dac", _reply, "withdrawn"),
    "ask-info to a CPTS/DAC by the FHIR API": (FHIR, "exchange-cpts-dac", _ask, "withdrawn"),
    "reply to a PDP referral's partner (form)": ({"event": "pdp", "channel": "form", "kind": "partner",
                                                  "consent": PERMIT}, "pdp-referral", _reply, "withdrawn"),
    "recommendations to the employer": (WORKER, "recommendations-employer", _reco_employer, "objection"),
    "recommendations to the médecin conseil": (WORKER, "recommendations-medecin-conseil", _reco_mc, "objection"),
}
PURPOSE_WORDS = {"exchange-gp": "médecin traitant", "exchange-cpts-dac": "CPTS ou le DAC",
                 "pdp-referral": "désinsertion professionnelle", "recommendations-employer": "à l'employeur",
                 "recommendations-medecin-conseil": "au médecin conseil"}


async def _out_messages(hub: Hub, thread_id: str) -> int:
    async with hub.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(Message).where(
            Message.thread_id == thread_id, Message.direction == "out"))).scalar_one())


@pytest.mark.parametrize("name", list(OUTGOING))
async def test_each_outgoing_path_refuses_without_consent(demo_hub: Hub, name: str) -> None:
    hub = demo_hub
    request_kwargs, purpose, call, blocking = OUTGOING[name]
    thread_id, task_id, _ = await submit(hub, **request_kwargs)  # type: ignore[arg-type]
    anne = await viewer(hub, ANNE)
    if blocking != "consent":  # "consent": none recorded; else the worker objected, or withdrew a consent
        await record_for(hub, anne, thread_id, purpose, blocking, "in-person", None, "", "t")
    before_outbox, before_status = await outbox_purposes(hub, thread_id), await status_of(hub, task_id)
    with pytest.raises(ConsentRefused) as refused:
        await call(hub, thread_id)
    message = refused.value.message
    assert refused.value.status == 403 and refused.value.purpose == purpose
    assert PURPOSE_WORDS[purpose] in message and "Rien n'a été envoyé" in message
    assert "registre des consentements" in message  # what to do
    denied = await denied_transfers(hub, task_id)
    assert len(denied) == 1 and purpose in (denied[0].detail or "") and denied[0].actor.startswith("user:")
    assert await outbox_purposes(hub, thread_id) == before_outbox  # nothing queued
    assert await status_of(hub, task_id) == before_status and await _out_messages(hub, thread_id) == 0
    assert await recommendation_states(hub, task_id) == []
    # recorded consent (or the objection lifted) opens the same path
    await record_for(hub, anne, thread_id, purpose, "consent", "in-person", None, "", "t")
    await call(hub, thread_id)
    assert len(await denied_transfers(hub, task_id)) == 1


async def test_withdrawal_closes_a_path_that_was_open(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_id, task_id, _ = await submit(hub, consent=PERMIT)
    await _reply(hub, thread_id)
    await record_for(hub, await viewer(hub, ANNE), thread_id, "exchange-gp", "withdrawn", "email", None, "", "t")
    with pytest.raises(ConsentRefused, match="retrait de l'accord"):
        await _ask(hub, thread_id)
    # the worker's own request: no third party, no consent needed
    own_thread, _, _ = await submit(hub, **WORKER)  # type: ignore[arg-type]
    await _reply(hub, own_thread)


async def test_a_delayed_letter_passes_the_gate_again_when_due(demo_hub: Hub) -> None:
    hub = demo_hub
    hub.settings = hub.settings.with_(recommendations_delay_hours=48.0)
    thread_id, task_id, _ = await submit(hub, **WORKER)  # type: ignore[arg-type]
    ids = await reco.send(hub, await viewer(hub, ANNE), thread_id, _draft("employer", "medecin-conseil"), "t")
    assert len(ids) == 2 and await recommendation_states(hub, task_id) == [
        ("employer", "scheduled"), ("medecin-conseil", "scheduled")]
    queued = [p for p in await outbox_purposes(hub, thread_id) if p != "notify"]
    assert queued == ["confirmation", "reco-notice"]  # the worker is told first
    assert await dispatch_due(hub) == 0  # not due yet
    await record_for(hub, await viewer(hub, ANNE), thread_id, "recommendations-employer", "objection", "email",
                     None, "", "t")
    async with hub.db.session() as session, session.begin():
        await session.execute(update(Recommendation).values(due_at=utcnow() - timedelta(minutes=1)))
    assert await dispatch_due(hub) == 2
    assert await recommendation_states(hub, task_id) == [("employer", "refused"), ("medecin-conseil", "sent")]
    assert (await outbox_purposes(hub, thread_id)).count("recommendation") == 1
    denied = await denied_transfers(hub, task_id)
    assert len(denied) == 1 and denied[0].actor == "system" and "recommendations-employer" in (denied[0].detail or "")
    view = await consents_of(hub, await viewer(hub, ANNE), thread_id, "t")
    assert [(d.recipient, d.status_fr) for d in view.deliveries] == [
        ("employer", "refusé (opposition du salarié)"), ("medecin-conseil", "envoyé")]


async def test_the_http_answers_say_why(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    thread_id, task_id, _ = await submit(demo_hub, consent=ConsentStatement(decision="deny", channel="email"))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        login = await client.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD,
                                                                "otp": await otp_for(demo_hub, ANNE)})
        csrf = (await login.json())["csrf_token"]
        api = await client.post(f"{srv.url}/api/threads/{thread_id}/reply", json={"text": "Avis."},
                                headers={"X-CSRF-Token": csrf})
        body = await api.json()
        assert api.status == 403 and "médecin traitant" in body["error"] and "opposition" in body["error"]
        page = await client.post(f"{srv.url}/inbox/threads/{thread_id}/ask-info",
                                 data={"csrf_token": csrf, "text": "Précisions ?"}, allow_redirects=False)
        html = await page.text()
        assert page.status == 403 and "Envoi refusé" in html and "médecin traitant" in html
    assert len(await denied_transfers(demo_hub, task_id)) == 2


CLASSIFIED = {
    # sends clinical content out of the hub: goes through hub.consent.gate.check_transfer
    "outgoing": {"reply", "ask-info", "recommandations", "recommendations"},
    # stays inside the hub
    "internal": {"accept", "reassign", "reroute", "close", "consentements", "consents"},
}


async def test_every_outgoing_route_is_listed(demo_hub: Hub) -> None:
    app = build_app(demo_hub)
    actions_seen: set[str] = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("formatter") or info.get("path") or ""
        if route.method == "POST" and ("/threads/{id}/" in path):
            tail = path.split("/threads/{id}/", 1)[1]
            if tail.startswith("{action"):
                alternatives = re.search(r"\(\?P<action>([^)]+)\)", info["pattern"].pattern)
                assert alternatives is not None
                actions_seen.update(alternatives.group(1).split("|"))
            else:
                actions_seen.add(tail)
    assert actions_seen == CLASSIFIED["outgoing"] | CLASSIFIED["internal"], actions_seen


# -- a second time, when the content actually leaves ----------------------------------------------------------
async def _gp_reply(hub: Hub, route: str) -> tuple[str, str]:
    """A GP's request (consent given) answered by Dr Le Goff, the answer going by ``route``."""
    if route == "email":
        hub.settings = hub.settings.with_(plain_email_domains=("medecins-demo.fr",))
    if route == "mssante":
        async with hub.db.session() as session, session.begin():
            await session.execute(update(Practitioner).where(Practitioner.rpps == "10000000074")
                                  .values(mssante="helene.dubois@medecin.mssante.fr"))
    thread_id, task_id, _ = await new_request(hub)
    await place(hub, task_id, assigned_practitioner_id=(await practitioner(hub, "anne")).id)
    await _reply(hub, thread_id)
    return thread_id, task_id


async def _replied(hub: Hub, **request: Any) -> tuple[str, str]:
    thread_id, task_id, _ = await submit(hub, consent=PERMIT, **request)
    await _reply(hub, thread_id)
    return thread_id, task_id


async def _letter(hub: Hub, recipient: str) -> tuple[str, str]:
    thread_id, task_id, _ = await submit(hub, **WORKER)  # type: ignore[arg-type]
    await reco.send(hub, await viewer(hub, ANNE), thread_id, _draft(recipient), "t")
    return thread_id, task_id


# name → (queue it, the outbox row's purpose and kind, the consent purpose, the worker's later decision)
AT_DEPARTURE: dict[str, tuple[Callable[[Hub], Awaitable[tuple[str, str]]], tuple[str, str], str, str]] = {
    "reply to a GP by plain email": (lambda h: _gp_reply(h, "email"), ("reply", "email"), "exchange-gp",
                                     "withdrawn"),
    "reply to a GP by MSSanté": (lambda h: _gp_reply(h, "mssante"), ("reply", "mssante"), "exchange-gp",
                                 "withdrawn"),
    "reply to a GP by secure pickup (the link)": (lambda h: _gp_reply(h, "pickup"), ("pickup", "email"),
                                                  "exchange-gp", "withdrawn"),
    "reply to a CPTS/DAC by email, secure pickup (the link)": (
        lambda h: _replied(h, kind="coordinator"), ("pickup", "email"), "exchange-cpts-dac", "withdrawn"),
    "reply to a PDP referral's partner, secure pickup (the link)": (
        lambda h: _replied(h, event="pdp", channel="form", kind="partner"), ("pickup", "email"), "pdp-referral",
        "withdrawn"),
    "recommendations to the médecin conseil by MSSanté": (lambda h: _letter(h, "medecin-conseil"),
                                                          ("recommendation", "mssante"),
                                                          "recommendations-medecin-conseil", "objection"),
    "recommendations to the employer by secure pickup (the link)": (lambda h: _letter(h, "employer"),
                                                                    ("pickup", "email"), "recommendations-employer",
                                                                    "objection"),
}


async def _rows(hub: Hub, thread_id: str) -> list[OutboxItem]:
    async with hub.db.session() as session:
        return list((await session.execute(select(OutboxItem).where(OutboxItem.thread_id == thread_id)
                                           .order_by(OutboxItem.created_at))).scalars())


@pytest.mark.parametrize("name", list(AT_DEPARTURE))
async def test_queued_content_does_not_leave_after_a_withdrawal(demo_hub: Hub, name: str) -> None:
    hub = demo_hub
    queue, (row_purpose, kind), purpose, decision = AT_DEPARTURE[name]
    thread_id, task_id = await queue(hub)
    carrying = [r for r in await _rows(hub, thread_id) if r.consent_purpose]
    assert [(r.purpose, r.kind, r.consent_purpose, r.request_id) for r in carrying] == [
        (row_purpose, kind, purpose, task_id)]
    await record_for(hub, await viewer(hub, ANNE), thread_id, purpose, decision, "in-person", None, "", "t")
    transports = {"email": Recorder(), "mssante": Recorder()}
    worker = OutboxWorker(hub.db, hub.outbox, transports)  # type: ignore[arg-type]
    while await worker.run_once():
        pass
    rows = {r.id: r for r in await _rows(hub, thread_id)}
    assert rows[carrying[0].id].status == "held"  # final, not dead, not retried
    assert all(r.status == "sent" for r in rows.values() if r.id != carrying[0].id)  # the rest is not blocked
    async with hub.db.session() as session:
        kept = await hub.outbox.payload(session, rows[carrying[0].id])
    delivered = [p for t in transports.values() for p in t.payloads]
    sent_ids = [(p.get("headers") or {}).get("Message-ID") for p in delivered]
    assert kept["headers"]["Message-ID"] not in sent_ids and len(delivered) >= len(rows) - 1
    assert not any("Voici mon avis" in p["text"] or "port de charges" in p["text"] for p in delivered)
    denied = await denied_transfers(hub, task_id)
    assert len(denied) == 1 and denied[0].actor == "system" and purpose in (denied[0].detail or "")
    view = await open_thread(hub, await viewer(hub, ANNE), thread_id, "t")
    line = next(m for m in view.messages if m.kind == "status")
    assert line.body.startswith("Non envoyé") and PURPOSE_WORDS[purpose] in line.body
    assert "registre des consentements" in line.body and f"{clock.today():%d/%m/%Y}" in line.body
    held = next(m for m in view.messages if m.direction == "out")
    assert held.delivery and "non envoyé" in held.delivery
    if row_purpose == "recommendation" or purpose.startswith("recommendations"):
        assert [s for _, s in await recommendation_states(hub, task_id)] == ["held"]


@pytest.mark.parametrize("what", ["reply", "employer"])
async def test_a_pickup_is_checked_again_when_opened(demo_hub: Hub, what: str, start_server: Any) -> None:
    hub = demo_hub
    thread_id, task_id = await (_gp_reply(hub, "pickup") if what == "reply" else _letter(hub, "employer"))
    purpose = "exchange-gp" if what == "reply" else "recommendations-employer"
    token = link_token((await outbox_texts(hub, thread_id, "pickup"))[0]["text"])
    await pickup.open_link(hub, token)  # consent in force: the link works
    await pickup.send_code(hub, token)
    secret = await pickup.check_code(hub, token, await last_code(hub, thread_id))
    anne = await viewer(hub, ANNE)
    await record_for(hub, anne, thread_id, purpose, "withdrawn" if what == "reply" else "objection", "email", None,
                     "", "t")
    for step in (lambda: pickup.read(hub, token, secret), lambda: pickup.open_link(hub, token)):
        with pytest.raises(PickupError) as refused:
            await step()
        assert refused.value.status == 403 and "suspendue" in refused.value.message
        assert "oppos" not in refused.value.message and "accord" not in refused.value.message  # not said to them
    srv = await start_server(hub)
    async with aiohttp.ClientSession() as client, client.get(f"{srv.url}/retrait/{token}") as page:
        assert page.status == 403 and "sa transmission a été suspendue" in await page.text()
    assert len(await denied_transfers(hub, task_id)) == 3
    view = await open_thread(hub, anne, thread_id, "t")
    assert len([m for m in view.messages if m.kind == "status"]) == 1  # told once
    out = next(m for m in view.messages if m.direction == "out")
    assert out.delivery and "retrait sécurisé suspendu" in out.delivery
    line = next(m for m in view.messages if m.kind == "status").body
    assert line.startswith("Non lu par le correspondant") and "le lien fonctionnera de nouveau" in line
    if what == "employer":
        assert await recommendation_states(hub, task_id) == [("employer", "held")]
    await record_for(hub, anne, thread_id, purpose, "consent", "email", None, "", "t")
    assert (await pickup.open_link(hub, token)).status == "opened"  # the worker agreed again
    if what == "employer":
        assert await recommendation_states(hub, task_id) == [("employer", "sent")]
