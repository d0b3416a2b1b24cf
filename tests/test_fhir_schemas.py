"""The published definitions under ``schemas/fhir``: valid R4 resources that match what the code accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.structuredefinition import StructureDefinition

from connectors.fhir_api.bundle import parse_message
from connectors.fhir_api.profile import check_profile
from hub.intake.drafts import EVENTS, REQUESTER_KINDS, STOPPAGE_CAUSES

FHIR = Path(__file__).resolve().parent.parent / "schemas" / "fhir"


def codes(url: str) -> list[str]:
    for path in (FHIR / "codesystems").glob("*.json"):
        system = CodeSystem.model_validate_json(path.read_bytes())
        if system.url == url:
            return [str(c.code) for c in system.concept or []]
    raise AssertionError(f"no CodeSystem {url}")


def test_codesystems_list_exactly_the_codes_the_hub_knows() -> None:
    assert codes("urn:guichet:message-event") == list(EVENTS)
    assert codes("urn:guichet:work-stoppage-cause") == list(STOPPAGE_CAUSES)
    assert codes("urn:guichet:requester-kind") == list(REQUESTER_KINDS)
    assert codes("urn:guichet:observation") == ["work-stoppage"]


def test_profiles_are_r4_structure_definitions() -> None:
    paths = sorted((FHIR / "profiles").glob("*.json"))
    assert len(paths) >= 6
    for path in paths:
        definition = StructureDefinition.model_validate_json(path.read_bytes())
        assert definition.fhirVersion == "4.0.1" and definition.derivation == "constraint"
        assert definition.differential is not None
        assert all(str(e.path).split(".")[0] == definition.type for e in definition.differential.element)


@pytest.mark.parametrize("event", EVENTS)
def test_one_valid_example_per_event(event: str) -> None:
    raw = (FHIR / "examples" / f"{event}.json").read_bytes()
    view = check_profile(parse_message(raw))
    assert view.event == event
    assert json.loads(raw)["type"] == "message"
