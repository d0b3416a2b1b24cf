"""The consent registry (hub.consent): keyed identity, per-purpose decisions with history, sealed and audited."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text

from hub import clock
from hub.audit import Actor
from hub.consent import registry
from hub.consent.purposes import PURPOSES, allows, reply_purpose
from hub.consent.service import consents_of, record_for
from hub.core import Hub
from hub.inbox.errors import Forbidden, Invalid, NotFound
from hub.intake import ConsentStatement
from hub.store.models import AuditEvent, ConsentSubject
from tests.consent_support import PERMIT, submit
from tests.inbox_support import ANNE, SOPHIE, place, viewer

INS = "180012A00101194"  # not a real INS: any digits serve as the keyed identity's input


def test_policy_table() -> None:
    assert [p for p in PURPOSES if allows(p, None)] == ["recommendations-employer",
                                                        "recommendations-medecin-conseil"]
    assert all(allows(p, "consent") for p in PURPOSES)
    assert not any(allows(p, d) for p in PURPOSES for d in ("objection", "withdrawn"))
    assert reply_purpose("coordination-request", "gp", "email") == "exchange-gp"
    assert reply_purpose("coordination-request", "coordinator", "fhir") == "exchange-cpts-dac"
    assert reply_purpose("pdp-referral", "employer", "form") == "pdp-referral"
    assert reply_purpose("pre-return-visit-request", "worker", "form") is None


async def test_intake_records_consent_once_per_worker_and_history_is_kept(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_a, task_a, _ = await submit(hub, consent=PERMIT)
    # the same worker (same traits, accents and case aside) in a second request, without a statement
    thread_b, task_b, _ = await submit(hub, family="LEMOINE", given="claire marie")
    anne = await viewer(hub, ANNE)
    view = await consents_of(hub, anne, thread_b, "test")
    gp = view.state("exchange-gp")
    assert gp.allowed and gp.entry is not None and gp.entry.decision == "consent"
    assert gp.entry.on == date(2026, 10, 1) and gp.entry.channel == "email" and gp.entry.request_id == task_a
    assert not view.state("exchange-cpts-dac").allowed and view.state("recommendations-employer").allowed
    await record_for(hub, anne, thread_b, "exchange-gp", "withdrawn", "in-person", date(2026, 10, 20),
                     "retrait par téléphone", "test")
    await record_for(hub, anne, thread_b, "recommendations-employer", "objection", "email", None, "", "test")
    after = await consents_of(hub, anne, thread_a, "test")
    assert not after.state("exchange-gp").allowed and not after.state("recommendations-employer").allowed
    assert [(e.purpose, e.decision, e.seq) for e in after.history] == [
        ("exchange-gp", "consent", 1), ("exchange-gp", "withdrawn", 2), ("recommendations-employer", "objection", 1)]
    assert after.history[1].author == anne.label and after.history[1].note == "retrait par téléphone"
    async with hub.db.session() as session:
        keys = {s.request_id: s.worker_key for s in (await session.execute(select(ConsentSubject))).scalars()}
        audited = (await session.execute(select(AuditEvent.action, AuditEvent.detail).where(
            AuditEvent.entity_type == "Consent").order_by(AuditEvent.id))).all()
    assert keys[task_a] == keys[task_b]
    mine = [a for a, d in audited if task_a in (d or "") or task_b in (d or "") or "thread" in (d or "")]
    assert mine.count("create") == 3 and mine.count("read") == 2
    assert all("objection" not in (d or "") and "withdrawn" not in (d or "") for _, d in audited)


async def test_ins_keys_the_worker_whatever_the_spelling(demo_hub: Hub) -> None:
    hub = demo_hub
    _, task_a, _ = await submit(hub, ins=INS, family="Durand", consent=PERMIT)
    thread_b, task_b, _ = await submit(hub, ins=INS, family="Durand-Martin", given="Paul")
    _, task_c, _ = await submit(hub, family="Durand")  # same traits, no INS: another key
    view = await consents_of(hub, await viewer(hub, ANNE), thread_b, "test")
    assert view.state("exchange-gp").allowed
    async with hub.db.session() as session:
        keys = {s.request_id: s.worker_key for s in (await session.execute(select(ConsentSubject))).scalars()}
    assert keys[task_a] == keys[task_b] != keys[task_c]


async def test_bad_input_and_rights(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_id, task_id, _ = await submit(hub, consent=PERMIT)
    anne = await viewer(hub, ANNE)
    for purpose, decision, channel, on, words in (
            ("exchange-dmp", "consent", "form", None, "Finalité inconnue"),
            ("exchange-gp", "permit", "form", None, "Décision inconnue"),
            ("exchange-gp", "consent", "fax", None, "Canal inconnu"),
            ("exchange-gp", "consent", "form", date(2999, 1, 1), "futur")):
        with pytest.raises(Invalid, match=words):
            await record_for(hub, anne, thread_id, purpose, decision, channel, on, "", "test")
    sophie = await viewer(hub, SOPHIE)
    with pytest.raises(NotFound):  # not Sophie's request: not even visible
        await record_for(hub, sophie, thread_id, "exchange-gp", "consent", "form")
    await place(hub, task_id, assigned_practitioner_id=anne.practitioner_id, informed_team_id=sophie.team_id)
    with pytest.raises(Forbidden, match="seulement informée"):  # informed: may read, not record
        await record_for(hub, sophie, thread_id, "exchange-gp", "consent", "form")
    assert (await consents_of(hub, sophie, thread_id, "test")).state("exchange-gp").allowed


async def test_decisions_are_sealed(demo_hub: Hub) -> None:
    hub = demo_hub
    thread_id, task_id, _ = await submit(hub, consent=ConsentStatement(decision="deny", given_on=date(2026, 9, 1),
                                                                 channel="oral", declared_by="third-party"))
    anne = await viewer(hub, ANNE)
    await record_for(hub, anne, thread_id, "exchange-gp", "objection", "in-person", None, "CANARYCONSENTNOTE",
                     "test")
    async with hub.db.session() as session:
        rows = (await session.execute(text("SELECT * FROM consent_decisions"))).all()
        key = (await session.get(ConsentSubject, task_id)).worker_key  # type: ignore[union-attr]
        history = await registry.history(hub, session, key)
    dump = repr(rows).encode()
    for word in (b"CANARYCONSENTNOTE", b"objection", b"consent\"", b"in-person", b"Dr H", b"LEGOFF"):
        assert word not in dump
    assert [e.decision for e in history] == ["objection", "objection"]
    assert history[0].channel == "in-person" and history[0].author.startswith("déclaré par le demandeur")


async def test_record_survives_a_failed_second_write(demo_hub: Hub) -> None:
    """A decision is recorded in the caller's transaction: rolled back with it, never half-written."""
    hub = demo_hub
    _, task_id, _ = await submit(hub)
    with pytest.raises(RuntimeError):
        async with hub.db.session() as session, session.begin():
            await registry.record(hub, session, worker_key="k" * 40, purpose="exchange-gp", decision="consent",
                                  channel="api", author="x", actor=Actor("test"), request_id=task_id)
            raise RuntimeError("boom")
    async with hub.db.session() as session:
        assert await registry.history(hub, session, "k" * 40) == []


def test_today_is_the_date_in_france() -> None:
    """A decision dated today in France is not "in the future", even between midnight in Paris and midnight UTC
    (the forms date a worker's consent in France: refused, every form with consent failed for an hour or two)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    today_in_paris = datetime.now(ZoneInfo("Europe/Paris")).date()
    assert clock.today() == today_in_paris
    registry.validate("exchange-gp", "consent", "form", today_in_paris)
    with pytest.raises(Invalid, match="futur"):
        registry.validate("exchange-gp", "consent", "form", today_in_paris + timedelta(days=1))
