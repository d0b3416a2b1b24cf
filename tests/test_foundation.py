"""The foundation: encryption at rest, keyed lookups, audit chain, key rotation, health endpoints."""

from __future__ import annotations

import aiohttp
from sqlalchemy import select, text

from hub.audit import Actor, verify_chain
from hub.core import Hub
from hub.demo import DEMO_TEXTS, DEMO_WORKERS
from hub.keys import kek_usage, rotate
from hub.store.models import AuditEvent, Request


async def test_demo_requests_are_stored_encrypted(demo_hub: Hub) -> None:
    async with demo_hub.db.session() as session:
        rows = (await session.execute(select(Request))).scalars().all()
        assert len(rows) == 3
        blobs = b"".join(r.payload_enc + r.subject_enc for r in rows)
        for worker in DEMO_WORKERS:
            assert worker.family_name.encode() not in blobs
        payloads = [await demo_hub.sealer.open_json(session, r.data_key_id, "requests", r.id, "payload",
                                                    r.payload_enc) for r in rows]
    names = {p["worker"]["family_name"] for p in payloads}
    assert names == {w.family_name for w in DEMO_WORKERS}
    assert any(p["reason"] == DEMO_TEXTS[0] for p in payloads)


async def test_ciphertext_moved_to_another_row_does_not_open(demo_hub: Hub) -> None:
    async with demo_hub.db.session() as session:
        a, b = (await session.execute(select(Request).limit(2))).scalars().all()
        import pytest

        from hub.crypto.envelope import DecryptError

        with pytest.raises(DecryptError):
            await demo_hub.sealer.open(session, a.data_key_id, "requests", b.id, "payload", a.payload_enc)


async def test_audit_chain_verifies_and_names_tampered_row(demo_hub: Hub) -> None:
    checked, broken = await verify_chain(demo_hub.db)
    assert broken is None and checked >= 3
    async with demo_hub.db.session() as session, session.begin():
        await session.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
    checked, broken = await verify_chain(demo_hub.db)
    assert broken is not None and broken.seq == 2 and "altered" in broken.problem
    assert checked == 1


async def test_audit_chain_detects_removed_row(demo_hub: Hub) -> None:
    async with demo_hub.db.session() as session, session.begin():
        await session.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    _, broken = await verify_chain(demo_hub.db)
    assert broken is not None and broken.seq == 2 and "removed" in broken.problem


async def test_audit_chain_detects_removed_tail(demo_hub: Hub) -> None:
    async with demo_hub.db.session() as session, session.begin():
        last = (await session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))).scalar()
        await session.execute(text("DELETE FROM audit_events WHERE seq = :seq"), {"seq": last})
    _, broken = await verify_chain(demo_hub.db)
    assert broken is not None and broken.seq == last


async def test_key_rotation_rewraps_everything_and_retires_old_kek(demo_hub: Hub) -> None:
    old = demo_hub.keystore.active_kek_id()
    report = await rotate(demo_hub, grace_seconds=0)
    assert report.rewrapped > 0 and report.retired == [old]
    assert not (demo_hub.keystore.directory / f"kek-{old}.key").exists()
    assert await kek_usage(demo_hub) == {report.new_kek_id: report.rewrapped}
    # everything still opens, through a fresh hub that never saw the old key
    fresh = Hub.open(demo_hub.settings)
    try:
        async with fresh.db.session() as session:
            for r in (await session.execute(select(Request))).scalars():
                await fresh.sealer.open_json(session, r.data_key_id, "requests", r.id, "payload", r.payload_enc)
    finally:
        await fresh.close()


async def test_audit_record_is_rolled_back_with_its_transaction(hub: Hub) -> None:
    session = hub.db.session()
    async with session:
        await session.begin()
        await hub.audit.record(session, actor=Actor("t"), action="read", entity_type="Task", entity_id="x")
        await session.rollback()
    checked, broken = await verify_chain(hub.db)
    assert (checked, broken) == (0, None)


async def test_health_and_readiness(server) -> None:  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/healthz") as r:
            assert r.status == 200
        async with http.get(server.url + "/readyz") as r:
            assert r.status == 200 and (await r.json())["status"] == "ready"
            assert r.headers["X-Content-Type-Options"] == "nosniff"
        async with http.get(server.url + "/metrics") as r:
            assert r.status == 200 and "guichet_http_requests" in await r.text()


async def test_published_definitions_come_from_the_configured_schemas_dir(hub: Hub, tmp_path, start_server) -> None:  # type: ignore[no-untyped-def]
    """An installed package (the Docker image) finds schemas/ through GUICHET_SCHEMAS_DIR, not beside its code."""
    import json
    import shutil

    from hub.demo import load_demo

    copy = tmp_path / "published"
    shutil.copytree(hub.settings.schemas_dir, copy)
    doc = json.loads((copy / "openapi.json").read_text())
    doc["info"]["title"] = "Guichet (copie installée)"
    (copy / "openapi.json").write_text(json.dumps(doc))
    hub.settings = hub.settings.with_(schemas_dir=copy)
    await load_demo(hub)
    running = await start_server(hub)
    async with aiohttp.ClientSession() as http, http.get(running.url + "/openapi.json") as r:
        assert r.status == 200 and (await r.json())["info"]["title"] == "Guichet (copie installée)"
