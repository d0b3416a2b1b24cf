"""Token buckets kept in the database, so every instance counts against the same limit.

Contract:
- ``Bucket(name, rate, burst)``: at most ``burst`` calls at once, refilled at ``rate`` calls per second
  (``Bucket.per_hour("forms-posts", 60)`` is 60 an hour, at most 60 at once).
- ``await limits.take(bucket, key)`` spends one token and returns 0.0, or spends nothing and returns the seconds
  until one is available (the ``Retry-After`` of a 429). One statement: an ``INSERT … ON CONFLICT DO UPDATE …
  RETURNING`` that refills and spends atomically, on SQLite and PostgreSQL alike, so concurrent calls on several
  instances never both get the last token.
- ``await limits.wait_time(bucket, key)`` says the same without spending; ``await limits.hit(bucket, key)`` spends
  one token whatever is left (counting a success after the fact: a created form submission).
Keys (client ids, addresses) are stored as keyed hashes. Full buckets are purged now and then: a missing row is a
full bucket.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from hub.store.db import Database
from hub.store.models import RateBucket

PURGE_EVERY = 60.0


@dataclass(frozen=True)
class Bucket:
    name: str
    rate: float
    burst: float

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("rate must be positive and burst at least 1")

    @classmethod
    def per_hour(cls, name: str, limit: int) -> Bucket:
        return cls(name, max(limit, 1) / 3600.0, float(max(limit, 1)))


class RateLimits:
    def __init__(self, db: Database, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._secret = hmac.new(secret, b"guichet rate limits v1", hashlib.sha256).digest()
        self.clock = clock
        self._last_purge = 0.0

    def row_key(self, bucket: Bucket, key: str) -> str:
        mac = hmac.new(self._secret, f"{bucket.name}\x1f{key}".encode(), hashlib.sha256).hexdigest()[:40]
        return f"{bucket.name[:38]}:{mac}"

    async def take(self, bucket: Bucket, key: str) -> float:
        return await self._spend(bucket, key, force=False)

    async def hit(self, bucket: Bucket, key: str) -> None:
        await self._spend(bucket, key, force=True)

    async def wait_time(self, bucket: Bucket, key: str) -> float:
        now = self.clock()
        async with self.db.session() as session:
            row = (await session.execute(select(RateBucket.tokens, RateBucket.stamp)
                                         .where(RateBucket.key == self.row_key(bucket, key)))).first()
        if row is None:
            return 0.0
        tokens = min(bucket.burst, row.tokens + max(now - row.stamp, 0.0) * bucket.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / bucket.rate

    async def _spend(self, bucket: Bucket, key: str, force: bool) -> float:
        now = self.clock()
        await self._maybe_purge(now)
        t = RateBucket.__table__.c
        elapsed = case((literal(now) > t.stamp, literal(now) - t.stamp), else_=literal(0.0))
        refill = t.tokens + elapsed * literal(bucket.rate)
        level: ColumnElement[Any] = case((refill > literal(bucket.burst), literal(bucket.burst)), else_=refill)
        allowed = literal(True) if force else level >= literal(1.0)
        if force:  # a success counted after the fact: may go below zero, down to one burst of debt
            after: ColumnElement[Any] = case((level - 1.0 < -bucket.burst, literal(-bucket.burst)),
                                             else_=level - 1.0)
        else:
            after = case((level >= literal(1.0), level - 1.0), else_=level)
        first = bucket.burst - 1.0
        dialect = postgresql if self.db.is_postgres else sqlite
        stmt = dialect.insert(RateBucket).values(
            key=self.row_key(bucket, key), tokens=first, stamp=now, full_at=now + 1.0 / bucket.rate, allowed=True)
        stmt = stmt.on_conflict_do_update(index_elements=[t.key], set_={
            "tokens": after, "stamp": literal(now), "allowed": allowed,
            "full_at": literal(now) + (literal(bucket.burst) - after) / literal(bucket.rate)},
        ).returning(t.tokens, t.allowed)
        async with self.db.session() as session, session.begin():
            tokens, ok = (await session.execute(stmt)).one()
        if ok:
            return 0.0
        return max((1.0 - tokens) / bucket.rate, 0.001)

    async def _maybe_purge(self, now: float) -> None:
        if now - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = now
        async with self.db.session() as session, session.begin():
            await session.execute(delete(RateBucket).where(RateBucket.full_at < now))

    def limit(self, bucket: Bucket) -> Limit:
        return Limit(self, bucket)


@dataclass(frozen=True)
class Limit:
    """One bucket of the shared limits, bound: what a connector keeps (``await limit.take(address)``)."""

    limits: RateLimits
    bucket: Bucket

    async def take(self, key: str) -> float:
        return await self.limits.take(self.bucket, key)

    async def wait_time(self, key: str) -> float:
        return await self.limits.wait_time(self.bucket, key)

    async def hit(self, key: str) -> None:
        await self.limits.hit(self.bucket, key)
