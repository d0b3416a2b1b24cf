"""Pré-reprise recommendations: reviewed before sending, the worker told first, no clinical sentence to the
employer, only on a pré-reprise request, over the service and the JSON API."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from hub.consent import recommendations as reco
from hub.consent.leak import leaked
from hub.core import Hub
from hub.inbox.errors import Conflict, Invalid
from hub.inbox.threads import open_thread
from hub.pickup import service as pickup
from hub.store.models import OutboxItem, Practitioner
from tests.accounts_support import otp_for
from tests.consent_support import PERMIT, outbox_purposes, recommendation_states, submit
from tests.inbox_support import ANNE, PASSWORD, viewer
from tests.pickup_support import last_code, link_token

REASON = "Hernie discale opérée en juillet, douleurs persistantes à la marche. Traitement par antalgiques."
WORKER = {"event": "pre-return", "channel": "form", "kind": "worker", "worker_email": "claire@example.org",
          "requester_email": "claire@example.org", "reason": REASON}


def draft(text: str = "Éviter le port de charges de plus de 10 kg pendant trois mois.", *recipients: str,
          **more: Any) -> reco.RecommendationDraft:
    more.setdefault("addresses", {"employer": "rh@conserverie.example", "medecin-conseil": "mc@cpam.mssante.fr"})
    return reco.RecommendationDraft(text=text, checklist=["poste", "temps"],
                                    recipients=list(recipients or ("employer",)), **more)


async def _payloads(hub: Hub, thread_id: str, purpose: str) -> list[dict[str, Any]]:
    async with hub.db.session() as session:
        rows = (await session.execute(select(OutboxItem).where(OutboxItem.thread_id == thread_id,
                                                               OutboxItem.purpose == purpose)
                                      .order_by(OutboxItem.created_at))).scalars().all()
        return [await hub.outbox.payload(session, row) for row in rows]


def test_leak_check_finds_sentences_and_runs_of_words() -> None:
    clinical = [REASON, "Note : le salarié prend de la morphine le soir."]
    assert leaked("Poste assis, pauses régulières.", clinical) == []
    assert leaked("Attention : douleurs persistantes à la marche !", clinical) == [
        "douleurs persistantes à la marche"]
    assert leaked("le SALARIÉ prend de la morphine, donc...", clinical) == ["le salarié prend de la morphine le soir"]
    assert leaked("Traitement", clinical) == []  # one word is not a sentence


async def test_review_then_send_to_both_recipients(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_id, task_id, reference = await submit(hub, **WORKER)  # type: ignore[arg-type]
    anne = await viewer(hub, ANNE)
    shown = await reco.review(hub, anne, thread_id, draft("Pauses régulières.", "employer", "medecin-conseil"), "t")
    assert shown.sendable and [x.recipient for x in shown.letters] == ["employer", "medecin-conseil"]
    letter = shown.letters[0].body
    assert "Claire Lemoine" in letter and "Aménagement du poste de travail" in letter and "Pauses régulières." in letter
    assert "Hernie" not in letter and "antalgiques" not in letter
    assert await outbox_purposes(hub, thread_id) == [p for p in await outbox_purposes(hub, thread_id)
                                                     if p != "recommendation"]  # the review sent nothing
    ids = await reco.send(hub, anne, thread_id, draft("Pauses régulières.", "employer", "medecin-conseil"), "t")
    assert len(ids) == 2
    assert await recommendation_states(hub, task_id) == [("employer", "sent"), ("medecin-conseil", "sent")]
    purposes = [p for p in await outbox_purposes(hub, thread_id) if p in ("reco-notice", "recommendation", "pickup")]
    assert purposes == ["reco-notice", "pickup", "recommendation"]  # the worker is told first
    notice = (await _payloads(hub, thread_id, "reco-notice"))[0]
    assert notice["to"] == ["claire@example.org"] and "vous opposer" in notice["text"]
    assert "Pauses régulières" not in notice["text"] and "dès maintenant" in notice["text"]
    # the médecin conseil at an MSSanté address: the letter goes by MSSanté, the only row that carries it
    async with hub.db.session() as session:
        rows = (await session.execute(select(OutboxItem).where(OutboxItem.thread_id == thread_id,
                                                               OutboxItem.purpose == "recommendation"))).scalars().all()
        assert [(r.kind, r.consent_purpose, r.request_id) for r in rows] == [
            ("mssante", "recommendations-medecin-conseil", task_id)]
    mssante = (await _payloads(hub, thread_id, "recommendation"))[0]
    assert mssante["to"] == ["mc@cpam.mssante.fr"] and reference in mssante["subject"]
    assert "Pauses régulières." in mssante["text"]
    # the employer: a secure pickup; the email holds only the link, never the letter
    link = (await _payloads(hub, thread_id, "pickup"))[0]
    assert link["to"] == ["rh@conserverie.example"] and "Des recommandations du médecin du travail" in link["text"]
    assert "Pauses" not in link["text"] and "Lemoine" not in link["text"]
    token = link_token(link["text"])
    assert (await pickup.open_link(hub, token)).kind == "recommendation"  # the page says "Lire les recommandations"
    await pickup.send_code(hub, token)
    secret = await pickup.check_code(hub, token, await last_code(hub, thread_id, "Pauses"))
    content = await pickup.read(hub, token, secret)
    assert content.kind == "recommendation" and "Pauses régulières." in content.body
    # the thread: each letter, and how it left
    view = await open_thread(hub, anne, thread_id, "t")
    letters = {m.delivery.split(",")[0]: m for m in view.messages if m.kind == "recommendation" and m.delivery}
    assert set(letters) == {"Recommandations pour l'employeur", "Recommandations pour le médecin conseil"}
    assert "par lien de retrait sécurisé : parties le" in letters["Recommandations pour l'employeur"].delivery
    assert "lu par retrait sécurisé" in letters["Recommandations pour l'employeur"].delivery
    assert "par messagerie sécurisée de santé (MSSanté) : parties" in letters[
        "Recommandations pour le médecin conseil"].delivery
    assert {m.channel for m in letters.values()} == {"retrait", "mssante"}


async def test_the_review_says_how_each_letter_leaves(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_id, _, _ = await submit(hub, **WORKER)  # type: ignore[arg-type]
    anne = await viewer(hub, ANNE)
    both = ("employer", "medecin-conseil")
    shown = await reco.review(hub, anne, thread_id, draft("Pauses.", *both), "t")
    assert [(x.recipient, x.via) for x in shown.letters] == [("employer", "pickup"), ("medecin-conseil", "mssante")]
    assert shown.letters[1].via_fr == "par messagerie sécurisée de santé (MSSanté)"
    assert shown.to_json()["letters"][0]["via_label"].startswith("par lien de retrait sécurisé")
    # a médecin conseil at a plain address: secure pickup, never plain email; an address the directory knows as
    # MSSanté counts as MSSanté
    plain = draft("Pauses.", *both, addresses={"employer": "rh@x.example", "medecin-conseil": "mc@cpam.example"})
    assert [x.via for x in (await reco.review(hub, anne, thread_id, plain, "t")).letters] == ["pickup", "pickup"]
    async with hub.db.session() as session, session.begin():
        await session.execute(update(Practitioner).where(Practitioner.rpps == "10000000074")
                              .values(mssante="mc@cpam.example"))
    assert [x.via for x in (await reco.review(hub, anne, thread_id, plain, "t")).letters] == ["pickup", "mssante"]


async def test_the_employer_copy_carries_no_clinical_sentence(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_id, task_id, _ = await submit(hub, **WORKER)  # type: ignore[arg-type]
    anne = await viewer(hub, ANNE)
    copied = "Poste assis. Hernie discale opérée en juillet. Pas de port de charges."
    shown = await reco.review(hub, anne, thread_id, draft(copied), "t")
    assert not shown.sendable and shown.leaks == ["Hernie discale opérée en juillet"]
    with pytest.raises(Invalid, match="reprend des phrases du dossier médical"):
        await reco.send(hub, anne, thread_id, draft(copied), "t")
    assert await recommendation_states(hub, task_id) == []
    # the médecin conseil is a physician: the same text may reach them
    assert len(await reco.send(hub, anne, thread_id, draft(copied, "medecin-conseil"), "t")) == 1


async def test_refusals(demo_hub: Hub) -> None:
    hub = demo_hub
    anne = await viewer(hub, ANNE)
    gp_thread, _, _ = await submit(hub, consent=PERMIT)
    with pytest.raises(Conflict, match="pré-reprise"):
        await reco.send(hub, anne, gp_thread, draft(), "t")
    thread_id, task_id, _ = await submit(hub, event="pre-return", kind="gp", consent=PERMIT)  # no worker address
    for bad, words in ((reco.RecommendationDraft(recipients=["employer"], addresses={"employer": "a@b.fr"}),
                        "vides"),
                       (draft("x", "employer", addresses={"employer": "pas une adresse"}), "adresse"),
                       (reco.RecommendationDraft(text="x", recipients=["inspection"]), "inconnue"),
                       (reco.RecommendationDraft(text="x"), "destinataire"),
                       (draft(), "informé")):
        with pytest.raises(Invalid, match=words):
            await reco.send(hub, anne, thread_id, bad, "t")
    assert await recommendation_states(hub, task_id) == []
    await reco.send(hub, anne, thread_id, draft(worker_informed=True), "t")
    assert await recommendation_states(hub, task_id) == [("employer", "sent")]


async def test_json_review_and_send(demo_hub: Hub, start_server: Any) -> None:
    srv = await start_server(demo_hub)
    thread_id, task_id, _ = await submit(demo_hub, **WORKER)  # type: ignore[arg-type]
    body = {"text": "Temps partiel thérapeutique.", "checklist": ["temps"], "recipients": ["employer"],
            "addresses": {"employer": "rh@conserverie.example"}}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        login = await client.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD,
                                                                "otp": await otp_for(demo_hub, ANNE)})
        headers = {"X-CSRF-Token": (await login.json())["csrf_token"]}
        url = f"{srv.url}/api/threads/{thread_id}/recommendations"
        review = await client.post(url, json=body, headers=headers)
        shown = await review.json()
        assert review.status == 200 and shown["sendable"] and shown["letters"][0]["to"] == "rh@conserverie.example"
        consent = await client.post(f"{srv.url}/api/threads/{thread_id}/consents", headers=headers, json={
            "purpose": "recommendations-employer", "decision": "objection", "channel": "in-person"})
        assert consent.status == 201 and (await consent.json())["decision"] == "objection"
        again = await client.post(url, json=body, headers=headers)
        refused = await again.json()
        assert again.status == 409 and not refused["sendable"] and "à l'employeur" in refused["refusals"][0]
        sent = await client.post(url, json={**body, "send": True}, headers=headers)
        assert sent.status == 403 and "opposition" in (await sent.json())["error"]
        registry = await (await client.get(f"{srv.url}/api/threads/{thread_id}/consents")).json()
        state = {p["purpose"]: p for p in registry["purposes"]}
        assert not state["recommendations-employer"]["allowed"] and state["recommendations-medecin-conseil"]["allowed"]
        bad = await client.post(f"{srv.url}/api/threads/{thread_id}/consents", headers=headers,
                                json={"purpose": "exchange-gp", "decision": "maybe", "channel": "form"})
        assert bad.status == 400 and "Décision inconnue" in (await bad.json())["error"]
    assert await recommendation_states(demo_hub, task_id) == []


async def test_the_thread_shows_the_consent_state(demo_hub: Hub, start_server: Any) -> None:
    srv = await start_server(demo_hub)
    gp_thread, _, _ = await submit(demo_hub)  # a GP's request, no consent recorded
    worker_thread, _, _ = await submit(demo_hub, **WORKER)  # type: ignore[arg-type]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        login = await client.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD,
                                                                "otp": await otp_for(demo_hub, ANNE)})
        headers = {"X-CSRF-Token": (await login.json())["csrf_token"]}
        shown = await (await client.get(f"{srv.url}/api/threads/{gp_thread}")).json()
        assert [(c["purpose"], c["decision"], c["allowed"]) for c in shown["consents"]] == [
            ("exchange-gp", None, False)]
        assert shown["consents"][0]["text"].startswith("aucun consentement enregistré")
        assert shown["consents_href"] == f"/inbox/threads/{gp_thread}/consentements"
        html = await (await client.get(f"{srv.url}/inbox/threads/{gp_thread}")).text()
        assert "Consentements du salarié" in html and "aucun consentement enregistré" in html
        assert f'href="/inbox/threads/{gp_thread}/consentements"' in html
        await client.post(f"{srv.url}/api/threads/{gp_thread}/consents", headers=headers, json={
            "purpose": "exchange-gp", "decision": "consent", "channel": "in-person", "date": "2026-01-05",
            "note": "Appel du salarié, accord oral."})
        shown = await (await client.get(f"{srv.url}/api/threads/{gp_thread}")).json()
        assert shown["consents"][0] | {"text": ""} == {
            "purpose": "exchange-gp", "label": "l'échange d'informations de santé avec le médecin traitant",
            "decision": "consent", "date": "2026-01-05", "channel": "in-person", "allowed": True, "text": ""}
        assert "Appel du salarié" not in str(shown["consents"])  # the decision, not its note
        html = await (await client.get(f"{srv.url}/inbox/threads/{gp_thread}")).text()
        assert "accord le 05/01/2026, en personne ou par téléphone" in html
        shown = await (await client.get(f"{srv.url}/api/threads/{worker_thread}")).json()
        assert [(c["purpose"], c["allowed"]) for c in shown["consents"]] == [
            ("recommendations-employer", True), ("recommendations-medecin-conseil", True)]
