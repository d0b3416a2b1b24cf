"""Inbox services on a real database: who sees what, boxes and pages, each action and its Task status, search
through keyed hashes only."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text, update

from hub import clock
from hub.core import Hub
from hub.inbox import actions, boxes, search, threads
from hub.inbox.errors import Conflict, Forbidden, Invalid, NotFound
from hub.inbox.reassign import Target
from hub.intake import AttachmentDraft, MessageDraft
from hub.store.models import AuditEvent, Message, OutboxItem, Practitioner, RequestLookup, RoutingDecision
from tests.inbox_support import (
    ADMIN,
    ANNE,
    CLAIRE,
    PAUL,
    RPPS,
    SOPHIE,
    TRI,
    new_request,
    place,
    practitioner,
    status_of,
    team_id,
    viewer,
)
from tests.protect_support import routing_text


async def _todo_ids(hub: Hub, email: str, box: str = "todo") -> set[str]:
    page, _ = await boxes.browse(hub, await viewer(hub, email), box, limit=200)
    return {i.thread_id for i in page.items}


async def _sees(hub: Hub, email: str, thread_id: str) -> str | None:
    try:
        return (await threads.open_thread(hub, await viewer(hub, email), thread_id)).access
    except NotFound:
        return None


async def test_visibility_matrix(demo_hub: Hub) -> None:
    hub = demo_hub
    anne, luc, julie, paul = [await practitioner(hub, w) for w in ("anne", "luc", "julie", "paul")]
    e1, pdp = await team_id(hub, "NTS-E1"), await team_id(hub, "NTS-PDP")
    async with hub.db.session() as session, session.begin():  # Luc (another centre) is away; Anne stands in
        await session.execute(update(Practitioner).where(Practitioner.id == luc.id)
                              .values(absent_until=clock.today() + timedelta(days=10), delegate_id=anne.id))
    cases = {}
    layouts: dict[str, dict[str, Any]] = {
        "mine": {"assigned_practitioner_id": anne.id, "assigned_team_id": e1},
        "delegated": {"assigned_practitioner_id": luc.id, "assigned_team_id": await team_id(hub, "STN-E1")},
        "team": {"assigned_team_id": e1},
        "teammate": {"assigned_practitioner_id": julie.id},
        "pdp": {"assigned_practitioner_id": paul.id, "assigned_team_id": await team_id(hub, "NTS-INT"),
                "informed_team_id": pdp},
        "triage": {"in_triage": True, "triage_reason": "employeur inconnu"},
    }
    for name, columns in layouts.items():
        thread_id, task_id, _ = await new_request(hub, family=f"Cas{name}")
        await place(hub, task_id, **columns)
        cases[name] = thread_id
    expected = {
        ANNE: {"mine": "owner", "delegated": "owner", "team": "owner", "teammate": "owner"},
        SOPHIE: {},
        PAUL: {"pdp": "owner"},
        CLAIRE: {"pdp": "informed"},
        TRI: {"triage": "triage"},
        ADMIN: {},
    }
    for email, seen in expected.items():
        for name, thread_id in cases.items():
            assert await _sees(hub, email, thread_id) == seen.get(name), (email, name)
    assert await _todo_ids(hub, ANNE) >= {cases[n] for n in ("mine", "delegated", "team", "teammate")}
    assert not await _todo_ids(hub, ANNE) & {cases["pdp"], cases["triage"]}
    assert cases["triage"] in await _todo_ids(hub, TRI, "triage")
    assert cases["pdp"] in await _todo_ids(hub, CLAIRE)
    with pytest.raises(Forbidden):
        await boxes.browse(hub, await viewer(hub, ANNE), "triage")
    assert await _todo_ids(hub, ADMIN) == set()
    # the absence ends: Anne no longer sees Luc's requests
    later = await viewer(hub, ANNE, today=clock.today() + timedelta(days=11))
    with pytest.raises(NotFound):
        await threads.open_thread(hub, later, cases["delegated"])


async def test_refused_view_is_audited_and_indistinguishable_from_missing(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_id, task_id, _ = await new_request(hub)
    await place(hub, task_id, assigned_practitioner_id=(await practitioner(hub, "anne")).id)
    sophie = await viewer(hub, SOPHIE)
    with pytest.raises(NotFound) as hidden:
        await threads.open_thread(hub, sophie, thread_id)
    with pytest.raises(NotFound) as missing:
        await threads.open_thread(hub, sophie, "00000000-0000-0000-0000-000000000000")
    assert hidden.value.message == missing.value.message == "Demande introuvable."
    async with hub.db.session() as session:
        denied = (await session.execute(select(AuditEvent).where(AuditEvent.entity_id == thread_id))).scalars().all()
    assert [(e.action, e.outcome) for e in denied] == [("read", "denied")]
    assert sophie.email in denied[0].actor


async def test_thread_view_decrypts_request_history_and_audits(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_id, task_id, reference = await new_request(
        hub, family="Kerbrat", given="Yannick", siret="04423065100018", reason="Lombalgie chronique.",
        attachments=[AttachmentDraft("compte-rendu.pdf", "application/pdf", b"%PDF-1.4 test")])
    await place(hub, task_id, assigned_practitioner_id=(await practitioner(hub, "anne")).id)
    anne = await viewer(hub, ANNE)
    view = await threads.open_thread(hub, anne, thread_id, "127.0.0.1")
    assert view.reference == reference and view.task_id == task_id
    assert view.payload["worker"]["family_name"] == "Kerbrat"
    assert view.payload["employer"]["siret"] == "04423065100018"
    assert view.payload["stoppage"]["cause"] == "illness" and view.payload["consent"]["decision"] == "permit"
    assert view.messages[0].body == "Lombalgie chronique."
    assert view.routing_explanation  # the decision intake stored
    attachment = view.messages[0].attachments[0]
    assert attachment.filename == "compte-rendu.pdf"
    assert view.status == "received"  # an owner opened it
    assert await status_of(hub, task_id) == ("received", None)
    name, ctype, content = await threads.download(hub, anne, attachment.id)
    assert (name, ctype, content) == ("compte-rendu.pdf", "application/pdf", b"%PDF-1.4 test")
    with pytest.raises(NotFound):
        await threads.download(hub, await viewer(hub, SOPHIE), attachment.id)
    async with hub.db.session() as session:
        reads = (await session.execute(select(AuditEvent.entity_type, AuditEvent.outcome).where(
            AuditEvent.action == "read", AuditEvent.actor.contains(ANNE)))).all()
    assert ("Task", "success") in reads and ("Attachment", "success") in reads


async def test_unread_counts_and_keyset_pages(demo_hub: Hub) -> None:
    hub = demo_hub
    anne_id = (await practitioner(hub, "anne")).id
    made = []
    for i in range(7):
        thread_id, task_id, _ = await new_request(hub, family=f"Page{i}")
        await place(hub, task_id, assigned_practitioner_id=anne_id)
        made.append(thread_id)
    anne = await viewer(hub, ANNE)
    seen, cursor, sizes = [], None, []
    while True:
        page, _ = await boxes.browse(hub, anne, "todo", limit=3, cursor=cursor)
        sizes.append(len(page.items))
        seen += [i.thread_id for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and set(made) <= set(seen)
    assert sizes[:-1] == [3] * (len(sizes) - 1)
    assert seen.index(made[-1]) < seen.index(made[0])  # newest activity first
    async with hub.db.session() as session:
        before = await boxes.unread_counts(session, anne, ("todo", "closed"))
    await threads.open_thread(hub, anne, made[0])
    async with hub.db.session() as session:
        after = await boxes.unread_counts(session, anne, ("todo",))
    assert after["todo"] == before["todo"] - 1
    e1, julie = await team_id(hub, "NTS-E1"), (await practitioner(hub, "julie")).id
    for columns in ({"assigned_practitioner_id": anne_id, "assigned_team_id": e1, "informed_team_id": e1},
                    {"assigned_team_id": e1}, {"assigned_practitioner_id": julie, "assigned_team_id": e1}):
        _, task_id, _ = await new_request(hub, family="Compte")  # reachable by several scopes: counted once
        await place(hub, task_id, **columns)
    listed, _ = await boxes.browse(hub, anne, "todo", limit=200)
    async with hub.db.session() as session:
        counted = await boxes.unread_counts(session, anne, ("todo",))
    assert counted["todo"] == sum(i.unread for i in listed.items) == after["todo"] + 3
    with pytest.raises(Invalid):
        await boxes.browse(hub, anne, "todo", cursor="not-a-cursor")
    with pytest.raises(Invalid):
        await boxes.browse(hub, anne, "spam")


async def test_actions_move_the_task_status(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_id, task_id, _ = await new_request(hub, rfc822_id="<gp-1@medecins-demo.fr>")
    await place(hub, task_id, assigned_practitioner_id=(await practitioner(hub, "anne")).id)
    anne = await viewer(hub, ANNE)
    assert (await actions.accept(hub, anne, thread_id)).status == "accepted"
    with pytest.raises(Conflict):
        await actions.accept(hub, anne, thread_id)
    result = await actions.ask_info(hub, anne, thread_id, "Quel est le poste exact ?")
    assert (result.status, result.business_status) == ("on-hold", "waiting-for-sender")
    assert thread_id in await _todo_ids(hub, ANNE, "waiting")
    await hub.intake.add_message(MessageDraft(thread_id=thread_id, channel="email", source_key="test:answer",
                                              author_label="Dr Hélène Dubois", body="Cariste."),
                                 __import__("hub.audit", fromlist=["Actor"]).Actor("test"))
    assert (await status_of(hub, task_id))[0] == "in-progress"
    result = await actions.reply(hub, anne, thread_id, "Je le reçois en visite de pré-reprise le 3 décembre.")
    assert result.status == "in-progress" and result.message_id
    async with hub.db.session() as session:
        message = await session.get(Message, result.message_id)
        assert message is not None and (message.direction, message.kind) == ("out", "reply")
        assert b"pr\xc3\xa9-reprise" not in message.body_enc
        outbox = (await session.execute(select(OutboxItem).where(OutboxItem.thread_id == thread_id,
                                                                 OutboxItem.purpose.in_(("reply", "pickup")))
                                        .order_by(OutboxItem.created_at))).scalars().all()
        payloads = [(o.purpose, await hub.outbox.payload(session, o)) for o in outbox]
    # a verified sender whose domain is not allowed plain email: the question and the reply go by secure pickup,
    # the emails hold only a link (hub.trust.answers)
    assert [p for p, _ in payloads] == ["pickup", "pickup"]
    assert all(p["to"] == ["dr.dubois@medecins-demo.fr"] and "/retrait/" in p["text"] for _, p in payloads)
    assert not any("pré-reprise" in p["text"] or "poste exact" in p["text"] for _, p in payloads)
    result = await actions.close(hub, anne, thread_id, "completed", "visit-scheduled")
    assert (result.status, result.business_status) == ("completed", "visit-scheduled")
    assert thread_id in await _todo_ids(hub, ANNE, "closed")
    with pytest.raises(Conflict) as refused:
        await actions.reply(hub, anne, thread_id, "Encore un mot.")
    assert refused.value.message == "Impossible de répondre à cette demande : la demande est close (terminée)."
    async with hub.db.session() as session:
        updates = (await session.execute(select(AuditEvent.detail).where(
            AuditEvent.entity_id == task_id, AuditEvent.action == "update").order_by(AuditEvent.id))).scalars().all()
    assert [(d or "").split(":")[0] for d in updates] == ["accept", "ask-info", "reply", "close"]


async def test_bad_input_is_refused_in_french(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_id, task_id, _ = await new_request(hub)
    await place(hub, task_id, assigned_practitioner_id=(await practitioner(hub, "anne")).id)
    anne = await viewer(hub, ANNE)
    with pytest.raises(Invalid, match="vide"):
        await actions.reply(hub, anne, thread_id, "   ")
    with pytest.raises(Invalid, match="Issue de clôture invalide"):
        await actions.close(hub, anne, thread_id, "done")
    with pytest.raises(Invalid, match="RPPS invalide"):
        Target.parse("12345", None)
    with pytest.raises(Invalid, match="Aucune équipe"):
        await actions.reassign(hub, anne, thread_id, Target(team="NOPE"))
    assert await status_of(hub, task_id) == ("requested", None)


async def test_reassign_to_physician_pdp_and_triage(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_id, task_id, _ = await new_request(hub)
    await place(hub, task_id, assigned_practitioner_id=(await practitioner(hub, "anne")).id)
    anne = await viewer(hub, ANNE)
    await actions.accept(hub, anne, thread_id)
    result = await actions.reassign(hub, anne, thread_id, Target(practitioner_rpps=RPPS["sophie"]), "Secteur Rezé")
    assert result.status == "received"  # the new physician has not accepted yet
    assert await _sees(hub, ANNE, thread_id) is None
    assert await _sees(hub, SOPHIE, thread_id) == "owner"
    async with hub.db.session() as session:
        decisions = (await session.execute(select(RoutingDecision).where(RoutingDecision.request_id == task_id)
                                           .order_by(RoutingDecision.id))).scalars().all()
    assert [d.current for d in decisions][-1] is True and sum(d.current for d in decisions) == 1
    assert decisions[-1].rule == "manual" and ANNE in decisions[-1].decided_by
    text = await routing_text(hub, decisions[-1])
    assert "Secteur Rezé" in text.explanation and text.facts["to"]
    sophie = await viewer(hub, SOPHIE)
    await actions.reassign(hub, sophie, thread_id, Target(team="pdp"))
    assert await _sees(hub, CLAIRE, thread_id) == "owner"
    claire = await viewer(hub, CLAIRE)
    await actions.reassign(hub, claire, thread_id, Target(team="triage"))
    assert thread_id in await _todo_ids(hub, TRI, "triage")
    tri = await viewer(hub, TRI)
    with pytest.raises(Forbidden):
        await actions.accept(hub, tri, thread_id)
    await actions.reassign(hub, tri, thread_id, Target(practitioner_rpps=RPPS["paul"]))
    assert await _sees(hub, PAUL, thread_id) == "owner" and await _sees(hub, TRI, thread_id) is None


async def test_informed_team_reads_but_cannot_act(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_id, task_id, _ = await new_request(hub)
    await place(hub, task_id, assigned_practitioner_id=(await practitioner(hub, "paul")).id,
                informed_team_id=await team_id(hub, "NTS-PDP"))
    claire = await viewer(hub, CLAIRE)
    view = await threads.open_thread(hub, claire, thread_id)
    assert view.access == "informed" and view.actions == [] and view.status == "requested"
    with pytest.raises(Forbidden):
        await actions.reply(hub, claire, thread_id, "Bonjour")


async def test_search_by_name_reference_and_employer_through_hashes(demo_hub: Hub) -> None:
    hub = demo_hub
    anne_id = (await practitioner(hub, "anne")).id
    thread_id, task_id, reference = await new_request(hub, family="Guénolé", given="Maëlle Anne",
                                                      siret="04423065100018", employer_name="Boulangerie du Port")
    await place(hub, task_id, assigned_practitioner_id=anne_id)
    other_thread, other_task, _ = await new_request(hub, family="Guénolé", given="Erwan")
    await place(hub, other_task, assigned_practitioner_id=(await practitioner(hub, "sophie")).id)
    statements: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append(f"{statement} {parameters!r}")

    event.listen(hub.db.engine.sync_engine, "before_cursor_execute", capture)
    anne = await viewer(hub, ANNE)
    try:
        for query in ("guenole", "GUÉNOLÉ", "Maëlle Guénolé", "Guénolé Maëlle", reference.lower()):
            found = [i.thread_id for i in await search.search(hub, anne, query)]
            assert found == [thread_id], query  # never Sophie's Guénolé
        for query in ("044 230 651 00018", "boulangerie du port"):  # the demo request has that employer too
            found = [i.thread_id for i in await search.search(hub, anne, query)]
            assert thread_id in found and other_thread not in found, query
        assert await search.search(hub, anne, "Dupont") == []
    finally:
        event.remove(hub.db.engine.sync_engine, "before_cursor_execute", capture)
    sql = "\n".join(statements).upper()
    for plain in ("GUENOLE", "GUÉNOLÉ", "MAËLLE", "BOULANGERIE"):
        assert plain not in sql
    async with hub.db.session() as session:
        raw = (await session.execute(text("SELECT digest FROM request_lookups"))).scalars().all()
        rows = (await session.execute(select(RequestLookup).where(RequestLookup.request_id == task_id))
                ).scalars().all()
    assert raw and all(re.fullmatch(r"[0-9a-f]{40}", d) for d in raw)  # keyed hashes, nothing else
    assert {hub.hasher.digest("family", "GUENOLE"), hub.hasher.digest("employer", "Boulangerie du Port"),
            hub.hasher.digest("siret", "04423065100018"), hub.hasher.digest("reference", reference)} <= {
        r.digest for r in rows}
    with pytest.raises(Invalid):
        await search.search(hub, anne, "  ")
