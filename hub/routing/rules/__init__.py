"""The routing rules, one class per rule (see ``base`` for the two kinds), and their names."""

from __future__ import annotations

from collections.abc import Callable

from hub.routing.rules.absence import AbsentPhysician
from hub.routing.rules.base import Refiner, Rule, triage
from hub.routing.rules.employer_name import EmployerByName
from hub.routing.rules.employer_siret import EmployerBySiret
from hub.routing.rules.interim import TempAgency
from hub.routing.rules.pdp import PdpReferral
from hub.routing.rules.structure_commune import StructureCommune
from hub.routing.rules.triage import Triage

RULES: dict[str, Callable[[], Rule | Refiner]] = {
    EmployerBySiret.name: EmployerBySiret,
    TempAgency.name: TempAgency,
    PdpReferral.name: PdpReferral,
    AbsentPhysician.name: AbsentPhysician,
    EmployerByName.name: EmployerByName,
    StructureCommune.name: StructureCommune,
    Triage.name: Triage,
}

__all__ = ["RULES", "AbsentPhysician", "EmployerByName", "EmployerBySiret", "PdpReferral", "Refiner", "Rule",
           "StructureCommune", "TempAgency", "Triage", "triage"]
