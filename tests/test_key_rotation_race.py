"""Key rotation against a slow concurrent writer: the data key it made under the old KEK must not be lost when
the rotation retires that KEK — whether the writer flushed before the rotation began or only at its commit."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from hub.core import Hub
from hub.keys import rotate
from hub.store.models import DataKeyRow, Thread, new_id

SECRET = "texte du médecin écrit pendant la rotation"


async def _slow_writer(hub: Hub, flush_early: bool, started: asyncio.Event, release: asyncio.Event
                       ) -> tuple[str, bytes]:
    """A transaction that makes a data key (under the KEK active now), seals a value, waits, then commits."""
    async with hub.db.session() as session, session.begin():
        key = hub.sealer.new_key(session)
        blob = hub.sealer.seal(key, "threads", "t-slow", "note", SECRET)
        session.add(Thread(id=new_id(), reference=f"GU-SLOW-{new_id()[:4].upper()}", channel="email"))
        if flush_early:
            await session.flush()
        started.set()
        await release.wait()
    return key.id, blob


@pytest.mark.parametrize("flush_early", [False, True], ids=["flush-at-commit", "flush-before-rotation"])
async def test_slow_writer_keeps_its_data_key_through_a_rotation(hub: Hub, flush_early: bool) -> None:
    old = hub.keystore.active_kek_id()
    started, release = asyncio.Event(), asyncio.Event()
    writer = asyncio.create_task(_slow_writer(hub, flush_early, started, release))
    await started.wait()
    rotation = asyncio.create_task(rotate(hub, grace_seconds=0))
    try:
        if flush_early:
            await asyncio.sleep(0.5)
            assert not rotation.done()  # it waits for the writer that holds a key under the old KEK
        else:
            report = await rotation  # the rotation finishes and retires the old KEK while the writer still waits
            assert report.retired == [old] and not (hub.keystore.directory / f"kek-{old}.key").exists()
    finally:
        release.set()
    report = await rotation
    key_id, blob = await writer
    assert old in report.retired and not (hub.keystore.directory / f"kek-{old}.key").exists()
    fresh = Hub.open(hub.settings)  # a process that never saw the old KEK
    try:
        async with fresh.db.session() as session:
            row = (await session.execute(select(DataKeyRow).where(DataKeyRow.id == key_id))).scalar_one()
            assert row.kek_id == report.new_kek_id
            plain = await fresh.sealer.open_text(session, key_id, "threads", "t-slow", "note", blob)
        assert plain == SECRET
    finally:
        await fresh.close()
