"""The scale tunables, read once from ``guichet.toml`` (``Settings.extra``) and validated.

``outbox_lease_seconds`` (10): how long a worker's claim on an outbox row outlives its last heartbeat;
``poll_seconds`` (1.0, or 5.0 while ``LISTEN`` works): how often idle loops look for work anyway;
``listen`` (true): use PostgreSQL ``LISTEN/NOTIFY`` (turn off behind a transaction pooler).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hub.config import Settings


@dataclass(frozen=True)
class ScaleConfig:
    lease: timedelta = timedelta(seconds=10)
    poll_seconds: float = 1.0
    listen_poll_seconds: float = 5.0
    listen: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> ScaleConfig:
        extra = settings.extra
        lease = float(extra.get("outbox_lease_seconds", 10))
        poll = float(extra.get("poll_seconds", 1.0))
        if lease < 1 or poll <= 0:
            raise ValueError("outbox_lease_seconds must be at least 1 and poll_seconds positive")
        listen = str(extra.get("listen", True)).lower() not in ("false", "0", "no", "off")
        return cls(timedelta(seconds=lease), poll, float(extra.get("listen_poll_seconds", max(poll, 5.0))), listen)
