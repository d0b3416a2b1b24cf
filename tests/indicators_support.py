"""A hand-made data set for the indicators (March 2026), inserted row by row, with the figures expected of it.

Dates are chosen around weekends and Easter Monday (2026-04-06) so that working days are really counted.
Rows carry dummy encrypted columns: the indicators never read them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from hub.core import Hub
from hub.store.models import (
    ApiClient,
    IntakeRefusal,
    Message,
    OutboxItem,
    Request,
    RoutingDecision,
    Structure,
    Team,
    Thread,
    new_id,
)

_seq = count(1)


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=UTC)


def _request(session, *, created: str, channel: str, event: str, kind: str = "gp", client: str | None = None,
             team: int | None = None, status: str = "requested", answered: str | None = None,
             answer_kind: str = "reply", closed: str | None = None, triage: tuple[str, str | None] | None = None,
             hour: int = 9, rpps: str | None = None) -> None:
    n = next(_seq)
    thread_id, request_id = new_id(), new_id()
    created_at = at(created, hour)
    session.add(Thread(id=thread_id, reference=f"IND-{n:05d}", channel=channel, client_id=client,
                       created_at=created_at, updated_at=created_at))
    session.add(Request(id=request_id, thread_id=thread_id, event=event, status=status, source_key=f"ind:{n}",
                        requester_kind=kind, requester_rpps=rpps, assigned_team_id=team,
                        in_triage=bool(triage and not triage[1]),
                        data_key_id="none", subject_enc=b"-", payload_enc=b"-", created_at=created_at,
                        updated_at=created_at, last_activity_at=created_at,
                        closed_at=at(closed, 17) if closed else None,
                        first_answer_at=at(answered, 15) if answered else None))
    session.add(Message(thread_id=thread_id, request_id=request_id, direction="in", kind="request", channel=channel,
                        data_key_id="none", body_enc=b"-", created_at=created_at))
    session.add(Message(thread_id=thread_id, request_id=request_id, direction="out", kind="ack", channel=channel,
                        data_key_id="none", body_enc=b"-", created_at=created_at))
    if answered:
        session.add(Message(thread_id=thread_id, request_id=request_id, direction="out", kind=answer_kind,
                            channel=channel, data_key_id="none", body_enc=b"-", created_at=at(answered, 15)))
    if triage:
        session.add(RoutingDecision(request_id=request_id, rule="no-employer", triage_reason="SIRET inconnu",
                                    explanation="-", current=not triage[1], created_at=at(triage[0], 10)))
        if triage[1]:
            session.add(RoutingDecision(request_id=request_id, rule="manual", team_id=team, explanation="-",
                                        current=True, created_at=at(triage[1], 13)))
    else:
        session.add(RoutingDecision(request_id=request_id, rule="employer-team", team_id=team, explanation="-",
                                    current=True, created_at=created_at))


GP_RPPS = "10000000082"  # Dr Lefèvre of the demo directory (with an MSSanté address): every email request below


async def load_march_2026(hub: Hub) -> None:
    pre, coord, pdp = "pre-return-visit-request", "coordination-request", "pdp-referral"
    async with hub.db.session() as session, session.begin():
        session.add_all([Team(id=901, code="equipe-a", name="Équipe A"), Team(id=902, code="equipe-b", name="Équipe B"),
                         Structure(id="cpts-a", name="CPTS A", kind="cpts"),
                         Structure(id="cpts-b", name="CPTS B", kind="cpts")])
        await session.flush()
        session.add_all([ApiClient(id="client-a", name="SI CPTS A", structure_id="cpts-a", jwks="{}", scopes="-"),
                         ApiClient(id="client-b", name="SI CPTS B", structure_id="cpts-b", jwks="{}", scopes="-")])
        await session.flush()
        def r(session: object, **kw: object) -> None:
            _request(session, **({"rpps": GP_RPPS} if kw["channel"] == "email" else {}), **kw)  # type: ignore[arg-type]

        # email, pré-reprise, a GP
        r(session, created="2026-03-02", channel="email", event=pre, team=901, status="completed",
          answered="2026-03-02", closed="2026-03-04")                                    # answer 0, close 2
        r(session, created="2026-03-02", channel="email", event=pre, team=901, status="completed",
          answered="2026-03-06", closed="2026-03-13")                                    # answer 4, close 9
        r(session, created="2026-03-06", channel="email", event=pre, team=901, status="completed",
          answered="2026-03-09", closed="2026-04-10")                                    # 1; close 24, after March
        r(session, created="2026-03-07", channel="email", event=pre, team=901, status="in-progress",
          answered="2026-03-16")                                                         # Saturday → Monday+1w: 6
        r(session, created="2026-03-31", channel="email", event=pre, team=902, status="in-progress",
          answered="2026-04-07")                                                         # over Easter Monday: 4
        r(session, created="2026-03-20", channel="email", event=pre, team=902, status="on-hold",
          triage=("2026-03-20", "2026-03-20"))                                           # 3 hours in triage
        # API, coordination, CPTS A
        r(session, created="2026-03-11", channel="fhir", event=coord, kind="partner", client="client-a", team=901,
          status="completed", answered="2026-03-11", closed="2026-03-11")                 # 0, close 0
        r(session, created="2026-03-11", channel="fhir", event=coord, kind="partner", client="client-a", team=901,
          status="completed", answered="2026-03-19", closed="2026-03-20")                 # 6, close 7
        r(session, created="2026-03-26", channel="fhir", event=coord, kind="partner", client="client-a", team=901,
          status="on-hold", answered="2026-03-27", answer_kind="info-request")            # 1
        # a form, PDP referral by the worker, still in triage
        r(session, created="2026-03-15", channel="form", event=pdp, kind="worker", triage=("2026-03-15", None))
        # outside March: closed during March, open at its end, received in April, CPTS B in February
        r(session, created="2026-02-20", channel="email", event=pre, team=901, status="completed",
          answered="2026-02-23", closed="2026-03-10")
        r(session, created="2026-02-25", channel="email", event=pre, team=902, status="received")
        r(session, created="2026-04-02", channel="email", event=pre, team=902, status="received")
        r(session, created="2026-02-26", channel="fhir", event=coord, kind="partner", client="client-b", team=901)
        for refusal, day, channel, event, client, reasons in (
                ("r1", "2026-03-03", "form", pre, None, ("employer-cannot-request",)),
                ("r2", "2026-03-12", "fhir", pre, "client-a", ("stoppage-too-short", "consent-missing")),
                ("r3", "2026-03-30", "form", pdp, None, ("consent-missing",)),
                ("r0", "2026-02-27", "form", pre, None, ("consent-missing",))):
            for reason in reasons:
                session.add(IntakeRefusal(refusal_id=refusal, at=at(day), channel=channel, event=event,
                                          requester_kind="gp", client_id=client, reason=reason))
        for purpose, status, attempts, day in (
                ("ack", "sent", 1, "2026-03-02"), ("ack", "sent", 1, "2026-03-03"), ("ack", "sent", 1, "2026-03-31"),
                ("reply", "sent", 3, "2026-03-09"), ("notify", "pending", 2, "2026-03-20"),
                ("notify", "dead", 8, "2026-03-21"), ("ack", "dead", 8, "2026-02-21")):
            sent_at = at(day) + timedelta(minutes=attempts) if status == "sent" else None  # a minute a try
            session.add(OutboxItem(kind="email", purpose=purpose, status=status, attempts=attempts, data_key_id="none",
                                   payload_enc=b"-", created_at=at(day), next_attempt_at=at(day), sent_at=sent_at))
