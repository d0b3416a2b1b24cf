"""The scale tunables, read once from ``guichet.toml`` (``Settings.extra``) and checked (``hub.settings_check``).

``outbox_lease_seconds`` (10): how long a worker's claim on an outbox row outlives its last heartbeat;
``poll_seconds`` (1.0): how often idle loops look for work when ``LISTEN`` is not working;
``listen_poll_seconds`` (5.0): the same while ``LISTEN`` works (a safety net: the lapsed claims of a dead instance
are found by polling); ``listen`` (true): use PostgreSQL ``LISTEN/NOTIFY`` (false behind a transaction pooler).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hub.config import Settings
from hub.settings_check import boolean, number


@dataclass(frozen=True)
class ScaleConfig:
    lease: timedelta = timedelta(seconds=10)
    poll_seconds: float = 1.0
    listen_poll_seconds: float = 5.0
    listen: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> ScaleConfig:
        extra = settings.extra
        poll = number(extra, "poll_seconds", 1.0, minimum=0.05)
        return cls(lease=timedelta(seconds=number(extra, "outbox_lease_seconds", 10.0, minimum=1.0)),
                   poll_seconds=poll,
                   listen_poll_seconds=number(extra, "listen_poll_seconds", max(poll, 5.0), minimum=0.05),
                   listen=boolean(extra, "listen", True))
