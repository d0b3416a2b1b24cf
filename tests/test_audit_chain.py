"""The audit chain holds against someone who can write to the database but has not the key store:
an inserted unhashed entry, a removed tail (head row updated), an entry edited and re-hashed without the key,
a forged checkpoint; identities in actors are keyed pseudonyms."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select, update

from hub.audit import Actor, verify_chain
from hub.audit_checkpoint import FILENAME
from hub.audit_keys import LEGACY, AuditKeys
from hub.core import Hub
from hub.store.models import AuditEvent, AuditHead, utcnow
from tests.conftest import cli_env


async def _entries(hub: Hub, n: int) -> None:
    for i in range(n):
        async with hub.db.session() as session, session.begin():
            await hub.audit.record(session, actor=Actor("test", "t"), action="read", entity_type="Task",
                                   entity_id=f"task-{i}")
    await hub.audit.flush()


async def _rehash_from(hub: Hub, start: int, keys: AuditKeys, scheme: str = "hmac-sha256") -> None:
    """What an attacker does after editing: recompute every later hash and the head (with the key they have)."""
    from hub.audit import _hash_of

    async with hub.db.session() as session, session.begin():
        rows = (await session.execute(select(AuditEvent).where(AuditEvent.seq.is_not(None))
                                      .order_by(AuditEvent.seq))).scalars().all()
        prev = rows[start - 2].hash if start > 1 else "0" * 64
        for row in rows[start - 1:]:
            row.prev_hash, row.hash = prev, _hash_of(keys, row, str(prev), int(row.seq or 0), scheme)
            prev = row.hash
        await session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=len(rows), hash=prev))


async def test_intact_chain_is_checkpointed_outside_the_database(hub: Hub) -> None:
    await _entries(hub, 3)
    assert await verify_chain(hub.audit) == (3, None)
    point = json.loads((hub.settings.home / FILENAME).read_text())
    assert point["seq"] == 3 and point["mac"]
    assert (hub.settings.home / FILENAME).stat().st_mode & 0o077 == 0


async def test_inserted_unhashed_backdated_entry_is_named_forged(hub: Hub) -> None:
    await _entries(hub, 2)
    async with hub.db.session() as session, session.begin():  # a plain INSERT, as with psql/sqlite3
        session.add(AuditEvent(at=utcnow() - timedelta(days=3), actor="user:1:anne", action="read",
                               entity_type="Task", entity_id="alibi", outcome="success"))
    checked, broken = await verify_chain(hub.audit)
    assert broken is not None and broken.kind == "forged" and "never chained" in broken.problem, broken
    async with hub.db.session() as session:
        forged = (await session.execute(select(AuditEvent).where(AuditEvent.entity_id == "alibi"))).scalar_one()
    assert forged.seq is None and forged.hash is None  # verify refused to chain it


async def test_removed_tail_with_head_updated_is_named_truncated(hub: Hub) -> None:
    await _entries(hub, 5)
    assert (await verify_chain(hub.audit))[1] is None
    async with hub.db.session() as session, session.begin():
        third = (await session.execute(select(AuditEvent).where(AuditEvent.seq == 3))).scalar_one()
        await session.execute(AuditEvent.__table__.delete().where(AuditEvent.seq > 3))
        await session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=3, hash=third.hash))
    checked, broken = await verify_chain(hub.audit)
    assert checked == 3 and broken is not None and broken.kind == "truncated" and broken.seq == 4, broken
    assert "5 entries" in broken.problem


async def test_edited_entry_rehashed_without_the_key_is_named_altered(hub: Hub) -> None:
    await _entries(hub, 4)
    async with hub.db.session() as session, session.begin():
        await session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="mallory"))
    await _rehash_from(hub, 2, AuditKeys(b"guessed key".ljust(32, b"\0")))
    checked, broken = await verify_chain(hub.audit)
    assert (checked, broken is not None and broken.kind, broken and broken.seq) == (1, "altered", 2), broken
    # and an unkeyed SHA-256 chain (what the hub wrote before) is no better
    await _rehash_from(hub, 2, AuditKeys(b"\0" * 32), LEGACY)
    assert (await verify_chain(hub.audit))[1].kind == "altered"  # type: ignore[union-attr]


async def test_rewritten_chain_with_the_key_is_still_caught_by_the_checkpoint(hub: Hub) -> None:
    await _entries(hub, 3)
    await verify_chain(hub.audit)
    async with hub.db.session() as session, session.begin():
        await session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(detail="rewritten"))
    await _rehash_from(hub, 3, hub.audit.keys)  # even with the key, the checkpoint remembers entry 3's hash
    _, broken = await verify_chain(hub.audit, seal=False)
    assert broken is not None and broken.kind == "altered" and broken.seq == 3 and "checkpoint" in broken.problem


async def test_forged_checkpoint_and_second_copy(hub: Hub, tmp_path: object) -> None:
    copy = hub.settings.home.parent / "elsewhere"
    hub.audit.checkpoints.paths.append(copy / FILENAME)
    await _entries(hub, 2)
    assert json.loads((copy / FILENAME).read_text())["seq"] == 2
    path = hub.settings.home / FILENAME
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "seq": 1}))
    _, broken = await verify_chain(hub.audit, seal=False)
    assert broken is not None and broken.kind == "forged" and "signature" in broken.problem


async def test_legacy_unkeyed_chain_is_converted_once_when_intact(hub: Hub) -> None:
    await _entries(hub, 3)
    await _rehash_from(hub, 1, hub.audit.keys, LEGACY)  # the chain as written before revision 0003
    async with hub.db.session() as session, session.begin():
        await session.execute(update(AuditHead).where(AuditHead.id == 1).values(scheme=LEGACY))
    for path in hub.audit.checkpoints.paths:
        path.unlink()
    assert await verify_chain(hub.audit) == (3, None)
    async with hub.db.session() as session:
        assert (await session.get(AuditHead, 1)).scheme == "hmac-sha256"  # type: ignore[union-attr]


async def test_identities_in_actors_are_keyed_pseudonyms(hub: Hub) -> None:
    async with hub.db.session() as session, session.begin():
        await hub.audit.record(session, actor=Actor("email:Jeanne.Salariee@example.org", "smtp:1.2.3.4"),
                               action="create", entity_type="Task")
        await hub.audit.record(session, actor=Actor("login:MonMotDePasse!", "1.2.3.4"), action="login",
                               entity_type="User", outcome="failure")
    async with hub.db.session() as session:
        actors = list((await session.execute(select(AuditEvent.actor).order_by(AuditEvent.id))).scalars())
    assert actors == ["email:" + hub.audit.keys.pseudonym("email", "jeanne.salariee@example.org"),
                      "login:" + hub.audit.keys.pseudonym("login", "monmotdepasse!")]
    assert not any("Jeanne" in a or "MotDePasse" in a for a in actors)


async def test_cli_verify_names_the_forged_entry(hub: Hub) -> None:
    await _entries(hub, 2)
    env = cli_env(hub.settings)
    command = [sys.executable, "-m", "hub.cli", "audit", "verify"]
    ok = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "intact : 2 entrées" in ok.stdout, ok.stdout + ok.stderr
    async with hub.db.session() as session, session.begin():
        session.add(AuditEvent(at=utcnow() - timedelta(days=2), actor="system", action="read",
                               entity_type="Task", outcome="success"))
    bad = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "forgée" in bad.stdout and "never chained" in bad.stdout, bad.stdout
