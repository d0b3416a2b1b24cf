"""Outbox claims with a heartbeat, and LISTEN/NOTIFY wake-ups (``hub.scale``), in one process: two workers stand
for two instances (the SIGKILL of a real ``guichet serve`` is in ``test_scale_instances.py``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.core import Hub
from hub.outbox import OutboundEmail, OutboxWorker
from hub.scale.wakeups import OutboxListener
from hub.store.models import OutboxItem
from tests.conftest import _pg_admin, backend, wait_until

LEASE = timedelta(seconds=1)


class Stuck:
    """A relay that never answers: the worker holding a row stays in ``deliver``."""

    def __init__(self) -> None:
        self.started = 0

    async def deliver(self, payload: dict[str, Any]) -> None:
        self.started += 1
        await asyncio.Event().wait()


class Recorder:
    def __init__(self) -> None:
        self.subjects: list[str] = []

    async def deliver(self, payload: dict[str, Any]) -> None:
        self.subjects.append(payload["subject"])


async def enqueue(hub: Hub, n: int, prefix: str = "m") -> None:
    async with hub.db.session() as session, session.begin():
        for i in range(n):
            hub.outbox.enqueue_email(session, "notify", OutboundEmail(
                to=["dr.martin@spsti-test.fr"], subject=f"{prefix}{i}", text="Un message vous attend.",
                from_addr="guichet@spsti-test.fr"))


async def holders(hub: Hub) -> list[str | None]:
    async with hub.db.session() as session:
        return list((await session.execute(select(OutboxItem.claimed_by))).scalars())


async def test_claims_are_kept_while_renewed_and_taken_over_when_not(hub: Hub) -> None:
    await enqueue(hub, 3)
    stuck, recorder = Stuck(), Recorder()
    a = OutboxWorker(hub.db, hub.outbox, {"email": stuck}, lease=LEASE, batch=3)
    b = OutboxWorker(hub.db, hub.outbox, {"email": recorder}, lease=LEASE)
    running = asyncio.get_running_loop().create_task(a.run())
    try:
        await wait_until(lambda: _async(stuck.started == 1))
        assert set(await holders(hub)) == {a.holder}
        await asyncio.sleep(LEASE.total_seconds() * 2.5)  # well past one lease: the heartbeat kept the claims
        assert await b.run_once() == 0
    finally:
        running.cancel()  # the instance dies: no more heartbeat
        with pytest.raises(asyncio.CancelledError):
            await running
    await asyncio.sleep(LEASE.total_seconds() + 0.2)
    assert await b.run_once() == 3
    assert sorted(recorder.subjects) == ["m0", "m1", "m2"]  # each delivered once, by the survivor
    async with hub.db.session() as session:
        rows = (await session.execute(select(OutboxItem))).scalars().all()
    assert {(r.status, r.claimed_by) for r in rows} == {("sent", None)}
    assert await b.run_once() == 0


async def test_a_worker_does_not_deliver_a_row_taken_over(hub: Hub) -> None:
    await enqueue(hub, 1)
    recorder = Recorder()
    a = OutboxWorker(hub.db, hub.outbox, {"email": recorder}, lease=LEASE)
    b = OutboxWorker(hub.db, hub.outbox, {"email": recorder}, lease=LEASE)
    [item] = await a.claim()
    await asyncio.sleep(LEASE.total_seconds() + 0.2)  # a stalls, its lease lapses, b takes over and delivers
    assert await b.run_once() == 1
    assert await a.deliver(item) == "gone"
    assert recorder.subjects == ["m0"]


async def _async(value: bool) -> bool:
    return value


pg_only = pytest.mark.skipif(backend() != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's")


@pg_only
async def test_notify_wakes_the_listener_of_another_instance_and_survives_a_lost_connection(hub: Hub) -> None:
    other = Hub.open(hub.settings)  # the instance that writes; ``hub`` listens
    wakeup = asyncio.Event()
    listener = OutboxListener(hub.db, wakeup, keepalive=0.5)
    task = asyncio.get_running_loop().create_task(listener.run())
    try:
        await wait_until(lambda: _async(listener.listening))
        wakeup.clear()
        async with other.db.session() as session:  # a rolled-back transaction wakes nobody
            async with session.begin():
                other.outbox.enqueue_email(session, "notify", OutboundEmail(["a@b.fr"], "s", "t", "g@b.fr"))
                await session.flush()
                await session.rollback()
        await asyncio.sleep(0.5)
        assert listener.notifications == 0
        await enqueue(other, 2)
        await asyncio.wait_for(wakeup.wait(), timeout=5)
        assert listener.notifications == 1  # one per committed transaction
        pid = listener.backend_pid
        await _pg_admin(f"SELECT pg_terminate_backend({pid})")
        await wait_until(lambda: _async(listener.listening and listener.backend_pid != pid), timeout=15)
        wakeup.clear()
        await enqueue(other, 1)
        await asyncio.wait_for(wakeup.wait(), timeout=5)
        assert listener.notifications == 2
    finally:
        listener.stop()
        await task
        await other.db.dispose()


@pg_only
async def test_an_idle_worker_wakes_on_notify_long_before_its_poll(hub: Hub) -> None:
    recorder = Recorder()
    worker = OutboxWorker(hub.db, hub.outbox, {"email": recorder}, idle_seconds=600)
    listener = OutboxListener(hub.db, hub.outbox.wakeup)
    tasks = [asyncio.get_running_loop().create_task(t) for t in (listener.run(), worker.run())]
    other = Hub.open(hub.settings)
    try:
        await wait_until(lambda: _async(listener.listening))
        await asyncio.sleep(0.3)  # the worker has found nothing and sleeps for ten minutes
        await enqueue(other, 1, prefix="wake")
        await wait_until(lambda: _async(recorder.subjects == ["wake0"]), timeout=5)
    finally:
        worker.stop()
        listener.stop()
        await asyncio.gather(*tasks)
        await other.db.dispose()
