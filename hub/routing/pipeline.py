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

from hub import clock
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


def _stage(rule: object) -> str | None:
    """``find`` or ``refine``; an object with ``decide`` and no ``stage`` is a finder (the original contract)."""
    stage = getattr(rule, "stage", None)
    if stage is None and callable(getattr(rule, "decide", None)):
        return "find"
    return stage if stage in ("find", "refine") else None


def _instantiate(items: Sequence[object]) -> list[tuple[str, Any]]:
    known = ", ".join(RULES)
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, str):
            factory = RULES.get(item)
            if factory is None:
                raise RoutingConfigError(f"règle de routage inconnue : « {item} » (règles connues : {known})")
            rule: Any = factory()
        else:
            rule = item
        stage = _stage(rule)
        if stage is None or not isinstance(getattr(rule, "name", None), str):
            raise RoutingConfigError(f"règle de routage « {getattr(rule, 'name', rule)} » : il lui faut un nom "
                                     "et une méthode decide (stage « find ») ou refine (stage « refine »)")
        if rule.name in seen:
            raise RoutingConfigError(f"règle de routage en double : « {rule.name} »")
        seen.add(rule.name)
        out.append((stage, rule))
    return out


class Router:
    def __init__(self, rules: Sequence[object] | None = None) -> None:
        chosen = _instantiate(list(rules) if rules is not None else list(DEFAULT_ORDER))
        finders: list[Rule] = [rule for stage, rule in chosen if stage == "find"]
        names = [r.name for r in finders]
        if Triage.name in names and names[-1] != Triage.name:
            after = names[names.index(Triage.name) + 1]
            raise RoutingConfigError(f"la règle « triage » décide toujours : « {after} », placée après elle, "
                                     "ne serait jamais appliquée")
        if Triage.name not in names:
            finders.append(Triage())
        self.finders = finders
        self.refiners: list[Refiner] = [rule for stage, rule in chosen if stage == "refine"]

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
        today = today or clock.today()
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
