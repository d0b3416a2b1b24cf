"""What routing reads (``RoutingFacts``: non-health facts of a request) and what it decides (``Decision``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RoutingFacts:
    """The non-health facts of a request that routing may use (built by ``hub.routing.record.routing_facts``)."""

    event: str
    channel: str
    requester_kind: str
    employer_siret: str | None = None
    employer_name: str | None = None
    employer_postcode: str | None = None
    employer_commune: str | None = None
    worker_commune: str | None = None
    structure_id: str | None = None
    triage_hint: str | None = None


@dataclass
class Decision:
    """The recipient and why. Exactly one of ``practitioner_id``/``team_id``/``triage_reason`` leads;
    ``explanation`` is the French sentence the physician reads.

    ``rule`` is the last rule that fired (``facts["rules"]`` lists every rule that fired, in order);
    ``facts`` holds the non-health facts the rules used (JSON-serialisable); ``basis`` is the French clause
    saying why the chosen employer/team is concerned, written in the third person so that a later rule (the
    absence rule) can reuse it in its own explanation. ``basis`` is not stored.
    """

    rule: str
    explanation: str
    practitioner_id: int | None = None
    team_id: int | None = None
    informed_team_id: int | None = None
    employer_id: int | None = None
    triage_reason: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    basis: str = ""

    @property
    def in_triage(self) -> bool:
        return self.triage_reason is not None

    def same_outcome(self, other: Decision) -> bool:
        """True when ``other`` sends the request to the same place for the same stated reason."""
        return (self.rule, self.practitioner_id, self.team_id, self.informed_team_id, self.employer_id,
                self.triage_reason, self.explanation) == (
                other.rule, other.practitioner_id, other.team_id, other.informed_team_id, other.employer_id,
                other.triage_reason, other.explanation)
