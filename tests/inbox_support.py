"""Helpers for the inbox tests: real requests through ``hub.intake``, then placed where a test needs them."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select, update

from hub import clock
from hub.audit import Actor
from hub.core import Hub
from hub.inbox.access import Viewer, load_viewer
from hub.intake import AttachmentDraft, ConsentStatement, EmployerRef, Person, RequestDraft, Requester, WorkStoppage
from hub.store.models import Practitioner, Request, Team, User

ANNE, SOPHIE, PAUL, CLAIRE = ("anne.legoff@spsti-demo.fr", "sophie.bernard@spsti-demo.fr",
                              "paul.nguyen@spsti-demo.fr", "claire.robin@spsti-demo.fr")
TRI, ADMIN = "tri@spsti-demo.fr", "admin@spsti-demo.fr"
PASSWORD = "guichet-demo-2026"
RPPS = {"anne": "10000000017", "karim": "10000000025", "sophie": "10000000033", "paul": "10000000041",
        "claire": "10000000058", "luc": "10000000066", "julie": "10000000116"}


async def practitioner(hub: Hub, who: str) -> Practitioner:
    async with hub.db.session() as session:
        return (await session.execute(select(Practitioner).where(Practitioner.rpps == RPPS[who]))).scalar_one()


async def team_id(hub: Hub, code: str) -> int:
    async with hub.db.session() as session:
        return (await session.execute(select(Team.id).where(Team.code == code))).scalar_one()


async def viewer(hub: Hub, email: str, today: date | None = None) -> Viewer:
    async with hub.db.session() as session:
        user = (await session.execute(select(User).where(User.email == email))).scalar_one()
        return await load_viewer(session, user, today or clock.today())


async def new_request(hub: Hub, *, family: str = "Martin", given: str = "Jean", siret: str | None = None,
                      employer_name: str | None = None, channel: str = "email", subject: str = "Demande",
                      reason: str = "Arrêt long, reprise à préparer.", rfc822_id: str | None = None,
                      attachments: list[AttachmentDraft] | None = None, trust: str = "verified"
                      ) -> tuple[str, str, str]:
    """Submit a real request (by default from an authenticated sender); return (thread_id, task_id, reference)."""
    draft = RequestDraft(
        event="coordination-request", channel=channel, source_key=f"test:{uuid.uuid4()}",
        requester=Requester(kind="gp", name="Dr Hélène Dubois", email="dr.dubois@medecins-demo.fr",
                            rpps="10000000074"),
        subject=subject, reason=reason, worker=Person(family_name=family, given_names=given,
                                                      birth_date=date(1980, 1, 2)),
        employer=EmployerRef(siret=siret, name=employer_name),
        stoppage=WorkStoppage(start=date(2026, 9, 1), cause="illness"),
        consent=ConsentStatement(decision="permit", given_on=date(2026, 10, 1), channel="email"),
        attachments=attachments or [], rfc822_id=rfc822_id, trust=trust)
    result = await hub.intake.submit(draft, Actor("test", "test"))
    return result.thread_id, result.request_id, result.reference


async def place(hub: Hub, task_id: str, **columns: Any) -> None:
    """Put a request where a test wants it (practitioner/team/informed/triage), whatever routing decided."""
    values: dict[str, Any] = {"assigned_practitioner_id": None, "assigned_team_id": None,
                              "informed_team_id": None, "in_triage": False, "triage_reason": None,
                              "triage_reason_enc": None}
    values.update(columns)
    async with hub.db.session() as session, session.begin():
        await session.execute(update(Request).where(Request.id == task_id).values(**values))


async def status_of(hub: Hub, task_id: str) -> tuple[str, str | None]:
    async with hub.db.session() as session:
        row = (await session.execute(select(Request.status, Request.business_status)
                                     .where(Request.id == task_id))).one()
        return row.status, row.business_status
