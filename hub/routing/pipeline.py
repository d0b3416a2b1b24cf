"""The router: finders in order until one decides (triage always decides last), then refiners in order.

Contract:
- ``Router()`` uses :data:`DEFAULT_ORDER` (the order of issue 3); ``Router(["employer-siret", "triage"])`` or
  ``Router.from_settings(settings)`` (``routing_order`` in ``guichet.toml``: a list of names, or one string of
  names separated by commas) chooses the rules and their order; rule objects may be given instead of names.
  An unknown or repeated name raises :class:`RoutingConfigError` naming it. ``triage`` is added at the end when
  missing: a request is never dropped.
- ``await router.route(session, facts, today=None)`` returns a :class:`Decision`. It only reads the directory.
  The same facts and directory (and ``today``, which only the absence rule reads) always give the same
  decision: every query breaks ties by id.
Finders (``stage = "find"``) run in the order given until one decides; refiners (``stage = "refine"``) then
run in the order given on that decision: their place among the finders does not matter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.routing.model import Decision, RoutingFacts
from hub.routing.rules import RULES, EmployerBySiret, Refiner, Rule, Triage

DEFAULT_ORDER: tuple[str, ...] = ("employer-siret", "interim", "pdp-referral", "absence", "employer-name",
                                  "structure-commune", "triage")

__all__ = ["DEFAULT_ORDER", "EmployerBySiret", "Router", "RoutingConfigError", "parse_order"]


class RoutingConfigError(ValueError):
    """A routing order that cannot be used; the message (French) names the faulty entry."""


def parse_order(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"a, b"`` or ``["a", "b"]`` → ``("a", "b")``; ``None`` or empty → :data:`DEFAULT_ORDER`."""
    if value is None:
        return DEFAULT_ORDER
    if isinstance(value, str):
        names = [part.strip() for part in value.split(",")]
    elif isinstance(value, Sequence):
        names = [str(part).strip() for part in value]
    else:
        raise RoutingConfigError(f"routing_order doit être une liste de noms de règles, pas {type(value).__name__}")
    names = [n for n in names if n]
    return tuple(names) if names else DEFAULT_ORDER


def _instantiate(items: Sequence[Rule | Refiner | str]) -> list[Rule | Refiner]:
    known = ", ".join(RULES)
    out: list[Rule | Refiner] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, str):
            factory = RULES.get(item)
            if factory is None:
                raise RoutingConfigError(f"règle de routage inconnue : « {item} » (règles connues : {known})")
            rule = factory()
        else:
            rule = item
        if getattr(rule, "stage", None) not in ("find", "refine"):
            raise RoutingConfigError(f"règle de routage « {getattr(rule, 'name', rule)} » : stage doit valoir "
                                     "« find » ou « refine »")
        if rule.name in seen:
            raise RoutingConfigError(f"règle de routage en double : « {rule.name} »")
        seen.add(rule.name)
        out.append(rule)
    return out


class Router:
    def __init__(self, rules: Sequence[Rule | Refiner | str] | None = None) -> None:
        chosen = _instantiate(list(rules) if rules is not None else list(DEFAULT_ORDER))
        finders = [r for r in chosen if r.stage == "find"]
        if not finders or finders[-1].name != Triage.name:
            if any(r.name == Triage.name for r in finders):
                after = finders[[r.name for r in finders].index(Triage.name) + 1].name
                raise RoutingConfigError(f"la règle « triage » décide toujours : « {after} », placée après elle, "
                                         "ne serait jamais appliquée")
            finders.append(Triage())
        self.finders: list[Rule] = [r for r in finders if isinstance(r, Rule)]
        self.refiners: list[Refiner] = [r for r in chosen if r.stage == "refine" and isinstance(r, Refiner)]

    @classmethod
    def from_settings(cls, settings: Any) -> Router:
        """The router of ``settings.extra["routing_order"]`` (default order when absent)."""
        extra: Mapping[str, Any] = getattr(settings, "extra", None) or {}
        return cls(parse_order(extra.get("routing_order")))

    @property
    def order(self) -> list[str]:
        """The names of the rules, finders first, as they run."""
        return [r.name for r in self.finders] + [r.name for r in self.refiners]

    async def route(self, session: AsyncSession, facts: RoutingFacts, today: date | None = None) -> Decision:
        today = today or date.today()
        decision: Decision | None = None
        for finder in self.finders:
            decision = await finder.decide(session, facts)
            if decision is not None:
                break
        assert decision is not None  # the last finder is triage, which always decides
        fired = [decision.rule]
        for refiner in self.refiners:
            refined = await refiner.refine(session, facts, decision, today)
            if refined is not None:
                decision = refined
                fired.append(refiner.name)
        return replace(decision, facts={**decision.facts, "rules": fired})
