"""Counting SQL statements, for the benchmarks (``SQL statements per accepted request``).

Contract: ``StatementCounter(engine)`` counts every statement the engine sends (``before_cursor_execute``; one
``executemany`` counts once: one round trip); ``.count`` reads it. ``install_from_env(engine)``: when the
environment names a file in ``GUICHET_SQL_COUNT_FILE`` (benchmarks set it for the server processes they start),
count and write the total there when the process exits. Off otherwise: nothing is added on the request path.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

ENV = "GUICHET_SQL_COUNT_FILE"


class StatementCounter:
    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


def install_from_env(engine: AsyncEngine) -> None:
    target = os.environ.get(ENV)
    if not target:
        return
    counter = StatementCounter(engine)
    atexit.register(lambda: Path(target).write_text(str(counter.count), "utf-8"))
