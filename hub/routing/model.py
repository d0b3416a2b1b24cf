"""What routing reads (``RoutingFacts``: non-health facts of a request) and what it decides (``Decision``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RoutingFacts:
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
    ``explanation`` is the French sentence the physician reads."""

    rule: str
    explanation: str
    practitioner_id: int | None = None
    team_id: int | None = None
    informed_team_id: int | None = None
    employer_id: int | None = None
    triage_reason: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def in_triage(self) -> bool:
        return self.triage_reason is not None
