"""Re-routing stored requests after a directory change: the service and the ``guichet routing`` command."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from hub import clock
from hub.accounts import add_user
from hub.audit import Actor, verify_chain
from hub.cli import main
from hub.core import Hub
from hub.directory.importer import import_directory
from hub.intake import ConsentStatement, EmployerRef, Person, RequestDraft, Requester
from hub.routing.reroute import RerouteError, reroute, reroute_many, reroute_outcome
from hub.store.models import AuditEvent, OutboxItem, Request, RoutingDecision, Thread
from tests.protect_support import routing_text, triage_of
from tests.test_routing_directory import DOCTORS, SIRETS, TODAY, Ids, load_tricky_directory, write_employers

ACTOR = Actor("coordinatrice@spsti-test.fr", "test")
NEWCOMER = ("newcomer", "Nouvel Adhérent", "4711D", "44000", "44109", "E1", "aubry")


@pytest.fixture
async def ids(hub: Hub, tmp_path: Path) -> Ids:
    return await load_tricky_directory(hub, tmp_path)


async def submit(hub: Hub, key: str, siret: str, event: str = "coordination-request") -> str:
    draft = RequestDraft(
        event=event, channel="email", source_key=f"reroute-test:{key}",
        requester=Requester(kind="gp", name="Dr Généraliste", email="gp@medecins-test.fr"),
        subject="Demande", reason="Texte clinique confidentiel",
        worker=Person(family_name="Salarié", given_names="Test", residence_commune="44109"),
        employer=EmployerRef(siret=siret),
        consent=ConsentStatement(decision="permit", given_on=clock.today(), channel="oral", declared_by="third-party"))
    return (await hub.intake.submit(draft, Actor("test", "test"))).request_id


async def import_employers(hub: Hub, folder: Path, entries: list[tuple[str, str, str, str, str, str, str]],
                           closed: tuple[str, ...] | None = None) -> None:
    write_employers(folder, entries, closed)
    report = await import_directory(hub, folder)
    assert report.errors == []


async def decisions(hub: Hub, request_id: str) -> list[RoutingDecision]:
    async with hub.db.session() as session:
        return list((await session.execute(select(RoutingDecision).where(RoutingDecision.request_id == request_id)
                                           .order_by(RoutingDecision.id))).scalars())


async def request_row(hub: Hub, request_id: str) -> Request:
    async with hub.db.session() as session:
        row = await session.get(Request, request_id)
    assert row is not None
    return row


async def count(hub: Hub, query: object) -> int:
    async with hub.db.session() as session:
        return int((await session.execute(query)).scalar_one())  # type: ignore[call-overload]


async def test_new_member_imported_then_triage_rerouted_leaves_triage(hub: Hub, ids: Ids, tmp_path: Path) -> None:
    async with hub.db.session() as session, session.begin():
        await add_user(session, "aubry@spsti-test.fr", "physician", "mot-de-passe-solide", DOCTORS["aubry"])
    request_id = await submit(hub, "1", SIRETS["newcomer"])
    before = await request_row(hub, request_id)
    assert before.in_triage and await triage_of(hub, before) == f"employeur non adhérent (SIRET {SIRETS['newcomer']})"

    # nothing changed yet: same decision, no new row, but the read is audited
    same = await reroute_outcome(hub, request_id, ACTOR, today=TODAY)
    assert not same.changed and not same.recorded and len(await decisions(hub, request_id)) == 1

    await import_employers(hub, tmp_path / "new", [NEWCOMER])
    outcomes = await reroute_many(hub, ACTOR, only_triage=True, today=TODAY)
    assert [o.request_id for o in outcomes] == [request_id]
    assert outcomes[0].changed and outcomes[0].before.in_triage and not outcomes[0].after.in_triage

    after, ids = await request_row(hub, request_id), await Ids.load(hub)
    assert (after.in_triage, await triage_of(hub, after), after.assigned_practitioner_id, after.assigned_team_id,
            after.employer_id) == (False, None, ids.doc["aubry"], ids.team["E1"], ids.emp["newcomer"])
    rows = await decisions(hub, request_id)
    assert [(r.rule, r.current) for r in rows] == [("triage", False), ("employer-siret", True)]
    text = await routing_text(hub, rows[1])
    assert rows[1].decided_by == f"router ({ACTOR.label})" and "Nouvel Adhérent" in text.explanation
    assert text.facts["siret"] == SIRETS["newcomer"]
    assert rows[1].explanation == "" and rows[1].facts == "{}" and after.triage_reason is None  # nothing in clear
    audits = await count(hub, select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "reroute", AuditEvent.entity_id == request_id))
    assert audits == 2
    notices = await count(hub, select(func.count()).select_from(OutboxItem).where(
        OutboxItem.purpose == "notify", OutboxItem.thread_id == after.thread_id))
    assert notices == 1  # the physician who now has it is told (no health data in that email)
    _, broken = await verify_chain(hub.db)
    assert broken is None
    assert await reroute_many(hub, ACTOR, today=TODAY) == []  # nothing left in triage


async def test_reroute_recomputes_absences_for_the_given_day(hub: Hub, ids: Ids) -> None:
    request_id = await submit(hub, "2", SIRETS["bodin-co"], event="pdp-referral")
    during = await reroute(hub, request_id, ACTOR, today=TODAY)
    assert during.practitioner_id == ids.doc["aubry"] and during.informed_team_id == ids.team["PDP"]
    back = await reroute(hub, request_id, ACTOR, today=date(2027, 1, 4))
    assert back.practitioner_id == ids.doc["bodin"] and back.rule == "pdp-referral"
    row = await request_row(hub, request_id)
    assert row.assigned_practitioner_id == ids.doc["bodin"] and row.informed_team_id == ids.team["PDP"]
    assert [r.current for r in await decisions(hub, request_id)].count(True) == 1


async def test_all_open_requests_or_only_triage(hub: Hub, ids: Ids, tmp_path: Path) -> None:
    routed = await submit(hub, "3", SIRETS["aubry-co"])
    await import_employers(hub, tmp_path / "moved", [
        ("aubry-co", "Menuiserie Aubry", "1623Z", "44600", "44184", "INT2", "ibert")])
    assert await reroute_many(hub, ACTOR, only_triage=True, today=TODAY) == []
    assert (await request_row(hub, routed)).assigned_practitioner_id == ids.doc["aubry"]
    outcomes = await reroute_many(hub, ACTOR, only_triage=False, today=TODAY)
    assert [(o.request_id, o.changed) for o in outcomes] == [(routed, True)]
    assert (await request_row(hub, routed)).assigned_practitioner_id == ids.doc["ibert"]


async def test_member_closed_by_an_import_sends_its_open_request_to_triage(hub: Hub, ids: Ids,
                                                                          tmp_path: Path) -> None:
    request_id = await submit(hub, "9", SIRETS["aubry-co"])
    await import_employers(hub, tmp_path / "closing", [
        ("aubry-co", "Menuiserie Aubry", "1623Z", "44000", "44109", "E1", "aubry")], closed=("aubry-co",))
    [outcome] = await reroute_many(hub, ACTOR, only_triage=False, today=TODAY)
    assert outcome.changed and outcome.after.in_triage
    row = await request_row(hub, request_id)
    assert row.in_triage and row.assigned_practitioner_id is None and row.employer_id is None
    assert await triage_of(hub, row) == (f"employeur radié / n'est plus adhérent (SIRET {SIRETS['aubry-co']}, "
                                         "Menuiserie Aubry)")


async def test_decisions_taken_by_a_person_are_not_rerouted_in_bulk(hub: Hub, ids: Ids, tmp_path: Path) -> None:
    request_id = await submit(hub, "4", SIRETS["newcomer"])
    async with hub.db.session() as session, session.begin():
        await session.execute(update(RoutingDecision).where(RoutingDecision.request_id == request_id)
                              .values(decided_by="Coordination (manuel)"))
    await import_employers(hub, tmp_path / "new", [NEWCOMER])
    assert await reroute_many(hub, ACTOR, today=TODAY) == []
    assert (await request_row(hub, request_id)).in_triage
    decision = await reroute(hub, request_id, ACTOR, today=TODAY)  # an explicit re-route still acts
    assert decision.practitioner_id == ids.doc["aubry"]


async def test_closed_or_unknown_requests_are_refused(hub: Hub, ids: Ids) -> None:
    request_id = await submit(hub, "5", SIRETS["aubry-co"])
    with pytest.raises(RerouteError, match="introuvable"):
        await reroute(hub, "no-such-request", ACTOR)
    async with hub.db.session() as session, session.begin():
        await session.execute(update(Request).where(Request.id == request_id).values(status="completed"))
    with pytest.raises(RerouteError, match="est close"):
        await reroute(hub, request_id, ACTOR)
    assert len(await decisions(hub, request_id)) == 1


# -- the command --------------------------------------------------------------------------------------------
@pytest.fixture
def cli_env(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the ``guichet`` command at the test hub; returns the path of its (absent) guichet.toml."""
    s = hub.settings
    config = tmp_path / "guichet.toml"
    monkeypatch.setenv("GUICHET_HOME", str(s.home))
    monkeypatch.setenv("GUICHET_KEYS_DIR", str(s.keys_dir))
    monkeypatch.setenv("GUICHET_DATABASE_URL", s.database_url)
    monkeypatch.setenv("GUICHET_CONFIG", str(config))
    if s.database_schema:
        monkeypatch.setenv("GUICHET_DATABASE_SCHEMA", s.database_schema)
    else:
        monkeypatch.delenv("GUICHET_DATABASE_SCHEMA", raising=False)
    return config


def write_config(path: Path, line: str) -> None:
    path.write_text(line + "\n", encoding="utf-8")


async def guichet(*args: str) -> int:
    return await asyncio.to_thread(main, list(args))  # main() runs its own event loop


async def reference_of(hub: Hub, request_id: str) -> str:
    async with hub.db.session() as session:
        return str((await session.execute(select(Thread.reference).join(Request, Request.thread_id == Thread.id)
                                          .where(Request.id == request_id))).scalar_one())


async def test_command_reroutes_the_triage_queue_and_prints_what_changed(
        hub: Hub, ids: Ids, tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    waiting = await submit(hub, "6", SIRETS["newcomer"])
    routed = await submit(hub, "7", SIRETS["aubry-co"])
    ref, routed_ref = await reference_of(hub, waiting), await reference_of(hub, routed)
    await import_employers(hub, tmp_path / "new", [NEWCOMER])

    assert await guichet("routing", "reroute", "--triage") == 0
    out = capsys.readouterr().out
    assert (f"{ref} : file de tri (employeur non adhérent (SIRET {SIRETS['newcomer']})) → Dr Aubry (Équipe E1) "
            "[règle employer-siret]") in out
    assert routed_ref not in out and "1 demande(s) examinée(s), 1 réorientée(s)." in out
    assert not (await request_row(hub, waiting)).in_triage

    assert await guichet("routing", "reroute", routed_ref.lower()) == 0
    assert f"{routed_ref} : inchangée — Dr Aubry (Équipe E1) [règle employer-siret]" in capsys.readouterr().out

    assert await guichet("routing", "reroute", "GU-0000-0000") == 1
    assert "aucune demande ne porte la référence GU-0000-0000" in capsys.readouterr().err


async def test_command_reroutes_one_reference(hub: Hub, ids: Ids, tmp_path: Path, cli_env: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    request_id = await submit(hub, "8", SIRETS["newcomer"])
    ref = await reference_of(hub, request_id)
    await import_employers(hub, tmp_path / "new", [NEWCOMER])
    assert await guichet("routing", "reroute", ref) == 0
    assert f"{ref} : file de tri" in capsys.readouterr().out
    row = await request_row(hub, request_id)
    assert row.assigned_practitioner_id == ids.doc["aubry"] and not row.in_triage
    async with hub.db.session() as session, session.begin():
        await session.execute(update(Request).where(Request.id == request_id).values(status="cancelled"))
    assert await guichet("routing", "reroute", ref) == 1
    assert "est close (cancelled)" in capsys.readouterr().err


async def test_command_shows_and_checks_the_configured_order(hub: Hub, cli_env: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert await guichet("routing", "rules") == 0
    out = capsys.readouterr().out
    assert "1. employer-siret — employeur adhérent trouvé par son SIRET" in out and "puis absence" in out
    write_config(cli_env, 'routing_order = ["employer-name", "absence"]')
    assert await guichet("routing", "rules") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == ["1. employer-name — employeur sans SIRET trouvé par son nom (et code "
                                    "postal/commune), s'il est unique", "2. triage — sinon → la file de tri, "
                                    "avec la raison"]
    write_config(cli_env, 'routing_order = "employer-siret, secteur"')
    assert await guichet("routing", "reroute", "--triage") == 1
    assert "règle de routage inconnue : « secteur »" in capsys.readouterr().err


def test_help_is_french(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["routing", "reroute", "--help"])
    out = capsys.readouterr().out
    assert "réorienter toutes les demandes ouvertes en file de tri" in out and "GU-XXXX-XXXX" in out
