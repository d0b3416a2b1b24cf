"""Test helper: where canary words stand in clear (tables, SQLite file and WAL, captured log lines)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.core import Hub


async def canaries_in_clear(hub: Hub, tables: Sequence[str], canaries: Sequence[str],
                            caplog: pytest.LogCaptureFixture) -> list[str]:
    """``"<where>:<canary>"`` for each canary found in a row of ``tables``, in the SQLite file or its WAL, or in a
    captured log line (case-insensitive); ``[]`` when none is in clear."""
    found: list[str] = []
    async with hub.db.session() as session:
        for table in tables:
            rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608 - constant names
            dump = repr(rows).lower()
            found += [f"{table}:{c}" for c in canaries if c.lower() in dump]
    if hub.db.is_sqlite:
        base = Path(hub.db.url.split("///", 1)[1])
        for path in (base, base.with_name(base.name + "-wal")):
            if path.exists():
                raw = path.read_bytes().lower()
                found += [f"{path.name}:{c}" for c in canaries if c.lower().encode() in raw]
    logged = "\n".join(r.getMessage() for r in caplog.records).lower()
    found += [f"log:{c}" for c in canaries if c.lower() in logged]
    return found
