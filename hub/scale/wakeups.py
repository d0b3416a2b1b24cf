"""Wake background loops when new work is committed: PostgreSQL ``LISTEN/NOTIFY``, polling as the fallback.

Contract:
- ``install_notify(db)``: on PostgreSQL, every transaction that adds outbox rows also sends ``NOTIFY`` on the
  database's outbox channel (delivered by PostgreSQL only when, and if, the transaction commits). The channel name
  carries a hash of the schema, so installations sharing one server never wake each other.
- ``OutboxListener(db, event).run()`` holds one dedicated connection (not from the pool) that ``LISTEN``s on that
  channel and sets ``event`` at each notification. It pings the connection every ``keepalive`` seconds, reconnects
  with backoff when it is lost, and sets ``event`` after each (re)connection (work committed meanwhile is not
  missed). ``listening`` says whether notifications currently arrive.
- The loops still poll (``guichet.toml`` key ``poll_seconds``): behind a transaction pooler (PgBouncer in
  transaction mode drops ``LISTEN``), or while the listener reconnects, work is found at the next poll.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from hub.store.db import Database
from hub.store.models import OutboxItem

log = logging.getLogger(__name__)
FLAG = "guichet_notify_outbox"


def outbox_channel(db: Database) -> str:
    suffix = hashlib.sha256((db.schema or "public").encode()).hexdigest()[:12]
    return f"guichet_outbox_{suffix}"


def install_notify(db: Database) -> None:
    if not db.is_postgres:
        return
    notify = text(f"NOTIFY {outbox_channel(db)}")

    def after_flush(session: Session, _context: Any) -> None:
        if any(isinstance(obj, OutboxItem) for obj in session.new):
            session.info[FLAG] = True

    def before_commit(session: Session) -> None:
        if session.info.pop(FLAG, False) or any(isinstance(obj, OutboxItem) for obj in session.new):
            session.execute(notify)

    def after_rollback(session: Session) -> None:
        session.info.pop(FLAG, None)

    event.listen(db.sync_session_class, "after_flush", after_flush)
    event.listen(db.sync_session_class, "before_commit", before_commit)
    event.listen(db.sync_session_class, "after_soft_rollback", lambda s, _t: after_rollback(s))


class OutboxListener:
    def __init__(self, db: Database, wakeup: asyncio.Event, keepalive: float = 10.0,
                 on_state: Callable[[bool], None] | None = None) -> None:
        self.db = db
        self.wakeup = wakeup
        self.keepalive = keepalive
        self.on_state = on_state
        self.channel = outbox_channel(db)
        self.listening = False
        self.notifications = 0
        self.backend_pid: int | None = None
        self._stopping = asyncio.Event()

    def dsn(self) -> str:
        return self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def _notified(self, *_args: Any) -> None:
        self.notifications += 1
        self.wakeup.set()

    async def run(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn(), timeout=5)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(self.channel, self._notified)
                self.backend_pid = conn.get_server_pid()
                self._state(True)
                delay = 0.5
                self.wakeup.set()  # whatever was committed while nobody listened
                while not self._stopping.is_set() and not lost.is_set():
                    try:
                        await asyncio.wait_for(self._stopping.wait(), timeout=self.keepalive)
                    except TimeoutError:
                        await conn.execute("SELECT 1", timeout=5)  # a dead peer shows up here
            except Exception as exc:  # noqa: BLE001 - database away: poll meanwhile, reconnect later
                if self.listening or delay == 0.5:
                    log.warning("LISTEN connection lost (%s); polling until it is back", type(exc).__name__)
            finally:
                self._state(False)
                if conn is not None and not conn.is_closed():
                    try:
                        await asyncio.wait_for(conn.close(), timeout=2)
                    except Exception:  # noqa: BLE001
                        conn.terminate()
            if not self._stopping.is_set():
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                except TimeoutError:
                    pass
                delay = min(delay * 2, 10.0)

    def _state(self, listening: bool) -> None:
        if listening != self.listening:
            self.listening = listening
            if self.on_state is not None:
                self.on_state(listening)

    def stop(self) -> None:
        self._stopping.set()
