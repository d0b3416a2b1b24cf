"""The facts the indicators read on each request (``hub.store.models.indicators``) stay equal to what the stored
timestamps and routing decisions say, through the real write paths: intake (to triage, or routed), the
coordinator's reassignment out of triage, a physician's reassignment back to triage, accept, a request for
information, a reply, closing. On the test backend (SQLite by default, PostgreSQL with
``GUICHET_TEST_DATABASE_URL``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hub.clock import in_paris
from hub.core import Hub
from hub.inbox import actions
from hub.inbox.reassign import Target
from hub.indicators.calendar import working_day_ordinal
from hub.store.models import Request, RoutingDecision, Thread
from hub.store.models.indicators import is_triage
from tests.inbox_support import ANNE, RPPS, TRI, new_request, viewer


def _wd(stamp: datetime | None) -> int | None:
    return None if stamp is None else working_day_ordinal(in_paris(stamp).date())


async def _recomputed(hub: Hub) -> dict[str, tuple]:
    """Per request: (channel, client, ordinals, first triage entry, first exit after it), from the base rows."""
    async with hub.db.session() as session:
        requests = (await session.execute(select(Request, Thread).join(Thread, Thread.id == Request.thread_id))
                    ).all()
        decisions = (await session.execute(select(RoutingDecision).order_by(RoutingDecision.created_at,
                                                                            RoutingDecision.id))).scalars().all()
    out = {}
    for request, thread in requests:
        mine = [d for d in decisions if d.request_id == request.id]
        t_in = next((d.created_at for d in mine if is_triage(d)), None)
        t_out = next((d.created_at for d in mine if t_in is not None and not is_triage(d) and d.created_at >= t_in),
                     None)
        out[request.id] = (thread.channel, thread.client_id, _wd(request.created_at), _wd(request.first_answer_at),
                           _wd(request.closed_at), t_in, t_out)
    return out


async def _stored(hub: Hub) -> dict[str, tuple]:
    async with hub.db.session() as session:
        rows = (await session.execute(select(Request))).scalars().all()
    return {r.id: (r.channel, r.client_id, r.created_wd, r.answer_wd, r.closed_wd, r.triage_in_at, r.triage_out_at)
            for r in rows}


async def test_facts_follow_every_write_path(demo_hub: Hub) -> None:
    hub = demo_hub
    triaged_thread, triaged_id, _ = await new_request(hub)  # no SIRET: the triage queue
    routed_thread, routed_id, _ = await new_request(hub, siret="04423065100018", channel="form", trust="form")
    stored = await _stored(hub)
    assert stored[triaged_id][5] is not None and stored[triaged_id][6] is None
    assert stored[routed_id][0] == "form" and stored[routed_id][2] is not None
    tri, anne = await viewer(hub, TRI), await viewer(hub, ANNE)
    await actions.reassign(hub, tri, triaged_thread, Target(practitioner_rpps=RPPS["anne"]), "Secteur de Nantes")
    await actions.accept(hub, anne, triaged_thread)
    await actions.ask_info(hub, anne, triaged_thread, "Quel est le poste exact ?")
    await actions.reply(hub, anne, triaged_thread, "Je le reçois en visite.")
    await actions.close(hub, anne, triaged_thread, "completed", "visit-scheduled")
    await actions.reassign(hub, anne, routed_thread, Target(team="triage"))  # back to triage, then out again
    await actions.reassign(hub, tri, routed_thread, Target(practitioner_rpps=RPPS["anne"]))
    stored = await _stored(hub)
    assert stored == await _recomputed(hub)
    channel, _, created, answered, closed, t_in, t_out = stored[triaged_id]
    assert (channel, answered is not None, closed is not None, t_in is not None, t_out is not None) == (
        "email", True, True, True, True)
    assert answered >= created and closed >= answered
    assert stored[routed_id][5] is not None and stored[routed_id][6] is not None  # entered triage, left it


@pytest.mark.parametrize("before", [("0003_protect", "0003_indicators"), ("0003_indicators",)])
async def test_migration_backfills_the_facts(settings_factory, database, before) -> None:  # noqa: ANN001
    """Rows written before 0004: the migration computes the same facts the events would have kept, whether the
    parallel head that seals routing text (0003_protect) ran before it or runs after."""
    from sqlalchemy import TextClause, bindparam, text

    from hub.crypto.keystore import KeyStore
    from hub.store.models.base import UTCDateTime

    def sql(statement: str, *stamps: str) -> TextClause:  # timestamps bound as the models store them
        return text(statement).bindparams(*(bindparam(name, type_=UTCDateTime()) for name in stamps))

    from hub.store.migrate import upgrade

    url, schema = database
    settings = settings_factory(database_url=url, database_schema=schema)
    KeyStore(settings.keys_dir).initialise()
    hub = Hub.open(settings)
    try:
        for revision in before:
            await upgrade(hub.db, revision)
        rows = {"t1": ("email", None, "2026-03-06 09:00:00", "2026-03-09 15:00:00", "2026-04-10 17:00:00"),
                "t2": ("fhir", None, "2026-03-31 09:00:00", "2026-04-07 15:00:00", None)}
        async with hub.db.engine.begin() as conn:
            for n, (tid, (channel, client, created, answered, closed)) in enumerate(rows.items()):
                stamp = {"c": datetime.fromisoformat(created).replace(tzinfo=UTC)}
                await conn.execute(sql("INSERT INTO threads (id, reference, channel, client_id, created_at, "
                                       "updated_at) VALUES (:id, :ref, :ch, :cl, :c, :c)", "c"),
                                   {"id": tid, "ref": f"M-{n}", "ch": channel, "cl": client, **stamp})
                await conn.execute(sql(
                    "INSERT INTO requests (id, thread_id, event, status, source_key, requester_kind, in_triage, "
                    "data_key_id, subject_enc, payload_enc, created_at, updated_at, last_activity_at, closed_at, "
                    "first_answer_at) VALUES (:id, :id, 'coordination-request', 'completed', :id, 'gp', false, "
                    "'none', :b, :b, :c, :c, :c, :d, :a)", "c", "a", "d"),
                    {"id": tid, "b": b"-", **stamp,
                     "a": datetime.fromisoformat(answered).replace(tzinfo=UTC),
                     "d": datetime.fromisoformat(closed).replace(tzinfo=UTC) if closed else None})
            for rid, team, at in (("t1", None, "2026-03-06 10:00:00"), ("t1", 901, "2026-03-06 13:00:00")):
                await conn.execute(text("INSERT INTO teams (id, code, name, kind) VALUES (901, 'a', 'A', 'standard') "
                                        "ON CONFLICT DO NOTHING"))
                await conn.execute(sql("INSERT INTO routing_decisions (request_id, rule, team_id, facts, explanation, "
                                       "decided_by, current, created_at) VALUES (:r, 'x', :t, '{}', '-', 'router', "
                                       "true, :at)", "at"),
                                   {"r": rid, "t": team, "at": datetime.fromisoformat(at).replace(tzinfo=UTC)})
        await upgrade(hub.db, "0004_indicators")
        await upgrade(hub.db)
        stored = await _stored(hub)
        assert stored == await _recomputed(hub)
        assert stored["t1"][3] - stored["t1"][2] == 1 and stored["t2"][3] - stored["t2"][2] == 4  # Easter Monday
        assert stored["t1"][5] is not None and stored["t1"][6] is not None and stored["t2"][5] is None
    finally:
        await hub.db.engine.dispose()
