"""What ``hub.notices`` writes: French acknowledgements naming who handles the request (physician, team or
triage desk), notifications without health data to the right people, form confirmations, and outbound replies
that find their address and threading headers by themselves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub import clock
from hub.audit import Actor
from hub.core import Hub
from hub.intake import ConsentStatement, EmployerRef, MessageDraft, Person, RequestDraft, Requester
from hub.store.models import OutboxItem, Request, Thread, new_id

GP = Requester(kind="gp", name="Dr Hélène Dubois", email="dr.dubois@medecins-demo.fr", rpps="10000000074")
WORKER = Person(family_name="Kerbrat", given_names="Yannick")
TEXT = "Lombalgie chronique, craint pour son poste."


async def outbox(hub: Hub, thread_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with hub.db.session() as session:
        rows = (await session.execute(select(OutboxItem).where(OutboxItem.thread_id == thread_id)
                                      .order_by(OutboxItem.created_at))).scalars().all()
        return [(row.purpose, await hub.outbox.payload(session, row)) for row in rows]


async def submit(hub: Hub, siret: str | None, channel: str = "email", trust: str = "verified",
                 **flags: Any) -> tuple[str, str]:
    draft = RequestDraft(event="coordination-request", channel=channel, source_key=f"test:{new_id()}", trust=trust,
                         requester=GP, subject="Kerbrat", reason=TEXT, worker=WORKER,
                         employer=EmployerRef(siret=siret) if siret else None, rfc822_id="<gp-1@medecins-demo.fr>",
                         consent=ConsentStatement(given_on=clock.today(), channel="oral", declared_by="third-party"),
                         **flags)
    result = await hub.intake.submit(draft, Actor("test"))
    return result.thread_id, result.reference


def no_health_data(payload: dict[str, Any]) -> None:
    for needle in ("Kerbrat", "Lombalgie", "poste"):
        assert needle not in payload["text"] and needle not in payload["subject"]


async def test_ack_names_the_physician_and_team_and_notifies_only_them(demo_hub: Hub) -> None:
    thread_id, reference = await submit(demo_hub, "04423065100018")
    sent = await outbox(demo_hub, thread_id)
    [(_, ack)] = [p for p in sent if p[0] == "ack"]
    assert "Dr Anne Le Goff, médecin du travail (Équipe Nantes 1)" in ack["text"] and reference in ack["text"]
    assert ack["headers"]["In-Reply-To"] == "<gp-1@medecins-demo.fr>"
    notices = [p for purpose, p in sent if purpose == "notify"]
    assert [n["to"] for n in notices] == [["anne.legoff@spsti-demo.fr"]]
    for _, payload in sent:
        no_health_data(payload)


async def test_ack_to_an_unauthenticated_sender_names_nobody(demo_hub: Hub) -> None:
    for siret in ("04423065100018", None):
        thread_id, reference = await submit(demo_hub, siret, trust="unverified")
        [(_, ack)] = [p for p in await outbox(demo_hub, thread_id) if p[0] == "ack"]
        assert "Il sera traité par l'équipe de santé au travail compétente." in ack["text"]
        for named in ("Le Goff", "Équipe", "coordination"):
            assert named not in ack["text"]


async def test_triage_ack_names_the_desk_and_notifies_coordinators(demo_hub: Hub) -> None:
    thread_id, _ = await submit(demo_hub, None)
    sent = await outbox(demo_hub, thread_id)
    [(_, ack)] = [p for p in sent if p[0] == "ack"]
    assert "la coordination du guichet" in ack["text"]
    assert [p["to"] for purpose, p in sent if purpose == "notify"] == [["tri@spsti-demo.fr"]]


async def test_quiet_flags_and_form_confirmation(demo_hub: Hub) -> None:
    thread_id, _ = await submit(demo_hub, "04423065100018", acknowledge=False, notify=False)
    assert await outbox(demo_hub, thread_id) == []
    thread_id, reference = await submit(demo_hub, "04423065100018", channel="form")
    sent = await outbox(demo_hub, thread_id)
    [(_, confirmation)] = [p for p in sent if p[0] == "confirmation"]
    assert reference in confirmation["text"] and confirmation["to"] == [GP.email]
    assert f"/suivi/{reference}?t=" in confirmation["text"]  # the follow-up link, committed with the request
    no_health_data(confirmation)


async def test_outbound_reply_finds_address_and_threading_and_auto_replies_stay_quiet(demo_hub: Hub) -> None:
    thread_id, _ = await submit(demo_hub, "04423065100018")
    async with demo_hub.db.session() as session, session.begin():
        thread = await session.get(Thread, thread_id)
        request = (await session.execute(select(Request).where(Request.thread_id == thread_id))).scalar_one()
        assert thread is not None
        await demo_hub.notices.on_outbound(session, thread, request, new_id(), "info-request", "Quel poste ?")
    [(_, question)] = [p for p in await outbox(demo_hub, thread_id) if p[0] == "info-request"]
    assert question["to"] == [GP.email] and "Demande de précisions" in question["subject"]
    assert question["headers"]["In-Reply-To"] == "<gp-1@medecins-demo.fr>"
    assert question["headers"]["Reply-To"] == f"guichet+{thread.reply_token}@spsti-test.fr"
    before = len(await outbox(demo_hub, thread_id))
    await demo_hub.intake.add_message(MessageDraft(thread_id=thread_id, channel="email", source_key="auto-1",
                                                   author_label="x", body="Absent", kind="auto-reply"),
                                      Actor("test"))
    assert len(await outbox(demo_hub, thread_id)) == before
    await demo_hub.intake.add_message(MessageDraft(thread_id=thread_id, channel="email", source_key="reply-1",
                                                   author_label="x", body="Cariste"), Actor("test"))
    assert [p for p, _ in await outbox(demo_hub, thread_id)][before:] == ["notify"]
