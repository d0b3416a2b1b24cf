"""The indicators' settings, read once from ``guichet.toml`` (``[indicators]``) and validated.

Contract: ``IndicatorSettings.from_settings(settings)`` returns the answer target (in working days) per kind of
request; ``default_target_days`` (5) applies to every kind not listed; ``cache_seconds`` (300) how long a
computed report is reused (0: never); ``link_hours`` (24) how long a GP's link to their own figures lives
(``hub.indicators.links``). Example::

    [indicators]
    default_target_days = 5
    cache_seconds = 300
    link_hours = 24
    [indicators.target_days]
    pre-return-visit-request = 8
    pdp-referral = 10

A bad value raises ``ValueError`` naming the key (at startup, not at the first page).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.config import Settings
from hub.intake.drafts import EVENTS

DEFAULT_TARGET_DAYS = 5
DEFAULT_CACHE_SECONDS = 300
DEFAULT_LINK_HOURS = 24
REQUEST_KINDS = tuple(e for e in EVENTS if e != "reply")


def _days(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 365:
        raise ValueError(f"guichet.toml [indicators] {key}: a whole number of working days (0–365) is expected")
    return value


@dataclass(frozen=True)
class IndicatorSettings:
    default_target_days: int = DEFAULT_TARGET_DAYS
    target_days: Mapping[str, int] = field(default_factory=dict)
    cache_seconds: int = DEFAULT_CACHE_SECONDS
    link_hours: int = DEFAULT_LINK_HOURS

    def target(self, kind: str) -> int:
        return self.target_days.get(kind, self.default_target_days)

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any]) -> IndicatorSettings:
        default = _days(section.get("default_target_days", DEFAULT_TARGET_DAYS), "default_target_days")
        targets = section.get("target_days", {})
        if not isinstance(targets, Mapping):
            raise ValueError("guichet.toml [indicators] target_days: a table kind = days is expected")
        unknown = [k for k in targets if k not in REQUEST_KINDS]
        if unknown:
            raise ValueError(f"guichet.toml [indicators.target_days]: unknown kind {unknown[0]!r} "
                             f"(known: {', '.join(REQUEST_KINDS)})")
        cache = section.get("cache_seconds", DEFAULT_CACHE_SECONDS)
        if isinstance(cache, bool) or not isinstance(cache, int) or not 0 <= cache <= 86_400:
            raise ValueError("guichet.toml [indicators] cache_seconds: a whole number of seconds (0–86400)")
        hours = section.get("link_hours", DEFAULT_LINK_HOURS)
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 24 * 14:
            raise ValueError("guichet.toml [indicators] link_hours: a whole number of hours (1–336)")
        return cls(default, {k: _days(v, f"target_days.{k}") for k, v in targets.items()}, cache, hours)

    @classmethod
    def from_settings(cls, settings: Settings) -> IndicatorSettings:
        section = settings.extra.get("indicators", {})
        if not isinstance(section, Mapping):
            raise ValueError("guichet.toml: [indicators] must be a table")
        return cls.from_mapping(section)
