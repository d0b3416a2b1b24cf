"""``IntakeService.submit`` owns acceptance: the legal checks under each channel's policy, conflicts, and every
outgoing email committed with the request (real database, no connector in the way)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub import clock
from hub.audit import Actor
from hub.core import Hub
from hub.intake import ConsentStatement, EmployerRef, Person, RequestDraft, Requester, WorkStoppage
from hub.intake.errors import IntakeConflict, IntakeRefused
from hub.intake.law import ON_VIOLATION, RULES
from hub.store.models import OutboxItem, Request, RoutingDecision
from tests.protect_support import routing_text, triage_of

TODAY = clock.today()
ACTOR = Actor("test", "test")
CONSENT = ConsentStatement(decision="permit", given_on=TODAY, channel="oral", declared_by="third-party")


def employer_asks_pre_return(channel: str, key: str, **more: object) -> RequestDraft:
    """Illegal everywhere: an employer cannot ask for a pré-reprise visit (L4624-2-4)."""
    return RequestDraft(event="pre-return-visit-request", channel=channel, source_key=f"{channel}:{key}",
                        requester=Requester(kind="employer", name="RH", email="rh@example.fr"),
                        worker=Person(family_name="Salarié", given_names="Test"),
                        employer=EmployerRef(siret="04423065100018"),
                        stoppage=WorkStoppage(start=TODAY - timedelta(days=60)), consent=CONSENT, **more)  # type: ignore[arg-type]


def gp_request(channel: str, key: str, consent: ConsentStatement | None = CONSENT, **more: object) -> RequestDraft:
    return RequestDraft(event="coordination-request", channel=channel, source_key=f"{channel}:{key}",
                        requester=Requester(kind="gp", name="Dr Test", email="gp@example.fr"),
                        worker=Person(family_name="Salarié", given_names="Test"),
                        employer=EmployerRef(siret="04423065100018"), consent=consent, **more)  # type: ignore[arg-type]


async def count(hub: Hub, model: type) -> int:
    async with hub.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


def test_the_policy_table_names_every_channel() -> None:
    assert ON_VIOLATION == {"form": "refuse", "fhir": "refuse", "email": "triage", "mssante": "triage"}
    assert len(RULES) == 3


@pytest.mark.parametrize("channel", ["form", "fhir"])
async def test_refusing_channels_store_nothing_and_say_why(demo_hub: Hub, channel: str) -> None:
    before = await count(demo_hub, Request)
    with pytest.raises(IntakeRefused) as refused:
        await demo_hub.intake.submit(employer_asks_pre_return(channel, "r1"), ACTOR)
    assert [v.code for v in refused.value.violations] == ["employer-cannot-request"]
    assert refused.value.violations[0].field == "requester.kind"
    assert await count(demo_hub, Request) == before


async def test_email_violation_is_kept_sent_to_triage_with_the_reason(demo_hub: Hub) -> None:
    result = await demo_hub.intake.submit(employer_asks_pre_return("email", "e1"), ACTOR)
    assert result.created and result.in_triage and result.rule == "law"
    assert [v.code for v in result.violations] == ["employer-cannot-request"]
    async with demo_hub.db.session() as session:
        request = await session.get(Request, result.request_id)
        decision = (await session.execute(select(RoutingDecision).where(
            RoutingDecision.request_id == result.request_id))).scalar_one()
    assert request is not None and request.in_triage
    assert "L'employeur ne peut pas demander" in (await triage_of(demo_hub, request) or "")
    assert (await routing_text(demo_hub, decision)).facts["law"] == ["employer-cannot-request"]


async def test_email_missing_consent_is_recorded_not_triaged(demo_hub: Hub) -> None:
    result = await demo_hub.intake.submit(gp_request("email", "e2", consent=None), ACTOR)
    assert result.created and not result.in_triage
    async with demo_hub.db.session() as session:
        decision = (await session.execute(select(RoutingDecision).where(
            RoutingDecision.request_id == result.request_id))).scalar_one()
    assert (await routing_text(demo_hub, decision)).facts["law"] == ["consent-missing"]


async def test_same_key_other_body_is_a_conflict_same_body_the_same_answer(demo_hub: Hub) -> None:
    first = await demo_hub.intake.submit(gp_request("fhir", "c1", body_digest="a" * 64), ACTOR)
    again = await demo_hub.intake.submit(gp_request("fhir", "c1", body_digest="a" * 64), ACTOR)
    assert (again.request_id, again.created) == (first.request_id, False)
    with pytest.raises(IntakeConflict):
        await demo_hub.intake.submit(gp_request("fhir", "c1", body_digest="b" * 64), ACTOR)


async def test_an_accepted_request_keeps_its_answer_when_the_law_now_refuses(demo_hub: Hub) -> None:
    first = await demo_hub.intake.submit(gp_request("fhir", "k1"), ACTOR)
    later = await demo_hub.intake.submit(gp_request("fhir", "k1", consent=None), ACTOR)
    assert (later.request_id, later.created) == (first.request_id, False)


async def test_form_confirmation_commits_with_the_request_and_carries_the_link(demo_hub: Hub) -> None:
    draft = gp_request("form", "f1")
    result = await demo_hub.intake.submit(draft, ACTOR)
    assert result.follow_up_token
    async with demo_hub.db.session() as session:
        rows = (await session.execute(select(OutboxItem).where(
            OutboxItem.thread_id == result.thread_id, OutboxItem.purpose == "confirmation"))).scalars().all()
        [payload] = [await demo_hub.outbox.payload(session, row) for row in rows]
    assert f"/suivi/{result.reference}?t={result.follow_up_token}" in payload["text"]
    assert payload["to"] == ["gp@example.fr"] and "Salarié" not in payload["text"]


async def test_a_group_commit_with_the_same_key_twice_creates_one_request(demo_hub: Hub) -> None:
    import asyncio

    before = await count(demo_hub, Request)
    results = await asyncio.gather(*(demo_hub.intake.submit(gp_request("email", key), ACTOR)
                                     for key in ("g1", "g2", "g1", "g3", "g2")))
    assert [r.created for r in results] == [True, True, False, True, False]
    assert results[0].request_id == results[2].request_id and results[1].request_id == results[4].request_id
    assert await count(demo_hub, Request) == before + 3


@pytest.mark.parametrize("channel", ["email", "mssante"])
async def test_a_consent_dated_in_the_future_by_email_goes_to_triage_and_is_not_recorded(
        demo_hub: Hub, channel: str) -> None:
    """The law check sends it to triage with the reason; the registry must not then refuse the whole request (the
    sender would be told to retry a message that can never be stored)."""
    from hub.store.models import ConsentDecision

    tomorrow = ConsentStatement(decision="permit", given_on=TODAY + timedelta(days=1), channel="email",
                                declared_by="third-party")
    before = await count(demo_hub, ConsentDecision)
    result = await demo_hub.intake.submit(gp_request(channel, "future", consent=tomorrow), ACTOR)
    assert result.created and result.in_triage
    assert [v.code for v in result.violations] == ["consent-date-future"]
    async with demo_hub.db.session() as session:
        request = await session.get(Request, result.request_id)
    assert request is not None and "futur" in (await triage_of(demo_hub, request) or "")
    assert await count(demo_hub, ConsentDecision) == before  # nothing recorded from a statement the law refused
