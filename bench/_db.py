"""Benchmarks' database helper: a throw-away PostgreSQL schema, or a SQLite file in a temporary folder."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg


@asynccontextmanager
async def scratch_database(url: str | None, folder: Path) -> AsyncIterator[tuple[str, str | None]]:
    """Yield (url, schema): PostgreSQL gets a fresh schema dropped afterwards, never ``public``."""
    if not url or url.startswith("sqlite"):
        yield url or f"sqlite+aiosqlite:///{folder / 'bench.db'}", None
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield url, schema
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
