"""The database handle: one async engine and its session factory.

Contract: ``Database(url)`` works with ``sqlite+aiosqlite://`` (WAL, synchronous=FULL, foreign keys on, so a
commit that returned survives a crash) and ``postgresql+asyncpg://`` (optionally inside ``schema``, which
becomes the connection's ``search_path``). ``session()`` yields an ``AsyncSession`` that does not expire on
commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from hub.hygiene import private_sqlite
from hub.store.sqlcount import install_from_env


class Database:
    def __init__(self, url: str, schema: str | None = None, pool_size: int = 10) -> None:
        self.url = url
        self.schema = schema
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size * 2
            kwargs["pool_recycle"] = 1800
            if schema:
                kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
        if self.is_sqlite:
            private_sqlite(url)  # the file (and so its WAL) mode 0600 in a 0700 directory
        # statements' parameters never reach an exception message or a log line (they hold tokens, digests…)
        self.engine: AsyncEngine = create_async_engine(url, hide_parameters=True, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin_immediate)
        # a Session class of this database's own, so that session events (audit sealing) stay per database
        self.sync_session_class: type[Session] = type("GuichetSession", (Session,), {})
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, class_=AsyncSession,
                                           sync_session_class=self.sync_session_class)
        install_from_env(self.engine)  # benchmarks only (GUICHET_SQL_COUNT_FILE)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith("postgresql")

    def session(self) -> AsyncSession:
        return self.sessions()

    async def ping(self) -> None:
        """Raise when the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (below): the driver's deferred BEGIN lets two writers read the same
    # snapshot and then fail with SQLITE_BUSY instead of waiting their turn.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
