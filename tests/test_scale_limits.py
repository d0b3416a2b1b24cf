"""Rate limits shared by every instance: token buckets in the database (``hub.scale.ratelimit``), on SQLite and
PostgreSQL. Two ``Hub`` objects on one database stand for two processes (each has its own engine and pool)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from hub.core import Hub
from hub.scale.ratelimit import Bucket, RateLimits
from hub.store.models import RateBucket


async def test_bucket_refills_spends_and_answers_retry_after(hub: Hub) -> None:
    now = [1000.0]
    limits = RateLimits(hub.db, b"k" * 32, clock=lambda: now[0])
    bucket = Bucket("t", rate=2.0, burst=3)
    assert [await limits.take(bucket, "a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await limits.take(bucket, "a") == pytest.approx(0.5)
    assert await limits.wait_time(bucket, "a") == pytest.approx(0.5)
    assert await limits.take(bucket, "b") == 0.0  # another key, another bucket
    now[0] += 0.5
    assert await limits.wait_time(bucket, "a") == 0.0
    assert await limits.take(bucket, "a") == 0.0
    assert await limits.take(bucket, "a") > 0
    now[0] += 100  # a long pause fills the bucket up to its burst, not beyond
    assert [await limits.take(bucket, "a") for _ in range(4)][-1] > 0


async def test_hit_counts_a_success_after_the_fact(hub: Hub) -> None:
    now = [50.0]
    limits = RateLimits(hub.db, b"k" * 32, clock=lambda: now[0])
    bucket = Bucket.per_hour("forms", 2)
    await limits.hit(bucket, "203.0.113.9")
    await limits.hit(bucket, "203.0.113.9")
    await limits.hit(bucket, "203.0.113.9")  # over the limit: recorded as a debt
    wait = await limits.wait_time(bucket, "203.0.113.9")
    assert wait == pytest.approx(2 * 1800.0)  # two tokens owed at one per half hour
    assert await limits.take(bucket, "203.0.113.9") == pytest.approx(wait)


async def test_keys_are_stored_hashed_and_full_buckets_purged(hub: Hub) -> None:
    now = [10.0]
    limits = RateLimits(hub.db, b"k" * 32, clock=lambda: now[0])
    await limits.take(Bucket("forms-posts", 1.0, 5), "198.51.100.7")
    async with hub.db.session() as session:
        keys = list((await session.execute(select(RateBucket.key))).scalars())
    assert len(keys) == 1 and "198.51.100.7" not in keys[0] and keys[0].startswith("forms-posts:")
    now[0] += 3600
    await limits.take(Bucket("other", 1.0, 5), "x")  # a purge runs at most once a minute
    async with hub.db.session() as session:
        left = list((await session.execute(select(RateBucket.key))).scalars())
    assert len(left) == 1 and left[0].startswith("other:")


async def test_two_instances_share_one_limit_under_concurrency(hub: Hub) -> None:
    other = Hub.open(hub.settings)  # a second engine on the same database: another process, as far as it knows
    try:
        bucket = Bucket("smart-token", rate=0.001, burst=10)
        results = await asyncio.gather(*[(hub if i % 2 else other).limits.take(bucket, "client-1")
                                         for i in range(40)])
        assert sum(1 for r in results if r == 0.0) == 10
        async with hub.db.session() as session:
            rows = (await session.execute(select(func.count()).select_from(RateBucket))).scalar_one()
        assert rows == 1
    finally:
        await other.db.dispose()


async def test_login_attempts_per_address_are_counted_across_instances(hub: Hub) -> None:
    from hub.web.auth import LoginRefused, login
    from hub.web.login_guard import CLIENT_MAX

    other = Hub.open(hub.settings)
    try:
        statuses = []
        for i in range(CLIENT_MAX + 1):  # failures from one client address, alternately on two instances
            try:
                await login(hub if i % 2 else other, f"inconnu{i}@example.fr", "mauvais", source="192.0.2.5")
            except LoginRefused as exc:
                statuses.append((exc.status, exc.message))
        assert [s for s, _ in statuses[:CLIENT_MAX - 1]] == [401] * (CLIENT_MAX - 1)
        assert [s for s, _ in statuses[CLIENT_MAX - 1:]] == [429, 429]
        assert "bloqué" in statuses[-1][1]
        with pytest.raises(LoginRefused) as refused:  # another address is not concerned
            await login(other, "inconnu@example.fr", "mauvais", source="192.0.2.6")
        assert refused.value.status == 401
    finally:
        await other.db.dispose()


async def test_a_lease_has_one_holder_until_it_expires_or_is_released(hub: Hub) -> None:
    from datetime import UTC, datetime, timedelta

    from hub.scale.leases import Leases

    now = [datetime(2026, 1, 5, 9, 0, tzinfo=UTC)]
    ttl = timedelta(seconds=10)
    other = Hub.open(hub.settings)
    a, b = Leases(hub.db, clock=lambda: now[0]), Leases(other.db, clock=lambda: now[0])
    try:
        assert await a.acquire("mssante-reader", "a", ttl)
        assert not await b.acquire("mssante-reader", "b", ttl)
        now[0] += timedelta(seconds=8)
        assert await a.acquire("mssante-reader", "a", ttl)  # renewed: runs until 9:00:18
        now[0] += timedelta(seconds=8)
        assert not await b.acquire("mssante-reader", "b", ttl)
        now[0] += timedelta(seconds=3)  # a stopped renewing: b takes over
        assert await b.acquire("mssante-reader", "b", ttl)
        assert not await a.acquire("mssante-reader", "a", ttl)
        await b.release("mssante-reader", "b")
        assert await a.acquire("mssante-reader", "a", ttl)
        results = await asyncio.gather(*[(a if i % 2 else b).acquire("other-job", f"h{i}", ttl) for i in range(10)])
        assert results.count(True) == 1
    finally:
        await other.db.dispose()
