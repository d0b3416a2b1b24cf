"""Helpers for the consent tests: real requests through ``hub.intake`` with or without a consent statement."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from hub import clock
from hub.audit import Actor
from hub.core import Hub
from hub.intake import ConsentStatement, EmployerRef, Person, RequestDraft, Requester, WorkStoppage
from hub.store.models import AuditEvent, OutboxItem, Recommendation
from tests.inbox_support import place, practitioner

EVENT_OF = {"coordination-request": "coordination-request", "pre-return": "pre-return-visit-request",
            "pdp": "pdp-referral"}


async def submit(hub: Hub, *, event: str = "coordination-request", channel: str = "email", kind: str = "gp",
                 consent: ConsentStatement | None = None, ins: str | None = None, family: str = "Lemoine",
                 given: str = "Claire", reason: str = "Lombalgie chronique invalidante depuis deux ans.",
                 worker_email: str | None = None, requester_email: str | None = "dr.dubois@medecins-demo.fr",
                 owner: str = "anne") -> tuple[str, str, str]:
    """A real request placed with ``owner``; returns (thread_id, task_id, reference)."""
    draft = RequestDraft(
        event=EVENT_OF.get(event, event), channel=channel, source_key=f"test:{uuid.uuid4()}",
        requester=Requester(kind=kind, name="Dr Hélène Dubois" if kind != "worker" else f"{given} {family}",
                            email=requester_email, rpps="10000000074" if kind == "gp" else None,
                            structure_id=None),
        subject="Reprise à préparer", reason=reason,
        worker=Person(family_name=family, given_names=given, birth_date=date(1980, 1, 2), ins=ins,
                      email=worker_email),
        employer=EmployerRef(siret="04423065100018", name="Conserverie Atlantique"),
        stoppage=WorkStoppage(start=date(2026, 8, 1), cause="illness"), consent=consent,
        client_id="client-test" if channel == "fhir" else None,
        trust={"email": "verified", "fhir": "api", "form": "form"}.get(channel, "unverified"))
    result = await hub.intake.submit(draft, Actor("test", "test"))
    await place(hub, result.request_id, assigned_practitioner_id=(await practitioner(hub, owner)).id)
    return result.thread_id, result.request_id, result.reference


PERMIT = ConsentStatement(decision="permit", given_on=date(2026, 10, 1), channel="email", declared_by="third-party")


async def denied_transfers(hub: Hub, task_id: str) -> list[AuditEvent]:
    async with hub.db.session() as session:
        return list((await session.execute(select(AuditEvent).where(
            AuditEvent.entity_id == task_id, AuditEvent.action == "transfer", AuditEvent.outcome == "denied")
            .order_by(AuditEvent.id))).scalars())


async def outbox_purposes(hub: Hub, thread_id: str) -> list[str]:
    async with hub.db.session() as session:
        return list((await session.execute(select(OutboxItem.purpose).where(OutboxItem.thread_id == thread_id)
                                           .order_by(OutboxItem.created_at))).scalars())


async def recommendation_states(hub: Hub, task_id: str) -> list[tuple[str, str]]:
    async with hub.db.session() as session:
        return [(r.recipient, r.status) for r in (await session.execute(
            select(Recommendation).where(Recommendation.request_id == task_id)
            .order_by(Recommendation.recipient))).scalars()]


async def worker_form_request(hub: Hub, kind: str = "worker", event: str = "pre-return-visit-request"
                              ) -> tuple[str, str, str, str]:
    draft = RequestDraft(
        event=event, channel="form", source_key=f"test:{uuid.uuid4()}",
        requester=Requester(kind=kind, name="Claire Lemoine" if kind == "worker" else "Dr Hélène Dubois",
                            email="claire@example.org" if kind == "worker" else "dr@example.org"),
        subject="Demande de visite de pré-reprise", reason="Reprise après une chirurgie du dos.",
        worker=Person(family_name="Lemoine", given_names="Claire", birth_date=date(1980, 1, 2),
                      email="claire@example.org"),
        employer=EmployerRef(siret="04423065100018"), stoppage=WorkStoppage(start=date(2026, 8, 1)),
        consent=ConsentStatement(decision="permit", channel="web", given_on=clock.today() - timedelta(days=1),
                                 declared_by="worker" if kind == "worker" else "third-party"), trust="form")
    result = await hub.intake.submit(draft, Actor("test", "test"))
    await place(hub, result.request_id, assigned_practitioner_id=(await practitioner(hub, "anne")).id)
    assert result.follow_up_token
    return result.thread_id, result.request_id, result.reference, result.follow_up_token


async def consent_given(hub: Hub, thread_id: str, purpose: str = "exchange-gp") -> None:
    """The physician records the worker's consent (say, after a call): replies to a GP may then leave."""
    from hub.consent.service import record_for
    from tests.inbox_support import ANNE, viewer

    await record_for(hub, await viewer(hub, ANNE), thread_id, purpose, "consent", "in-person", None, "", "test")


class Recorder:
    """An outbox transport that keeps what it was given (``OutboxWorker(db, outbox, {"email": Recorder()})``)."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    async def deliver(self, payload: dict[str, Any]) -> None:
        self.payloads.append(payload)
