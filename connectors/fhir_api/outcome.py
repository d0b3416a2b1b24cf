"""OperationOutcome: how the API says what is wrong, element by element, in French and English.

Contract: raise :class:`FhirError` (an HTTP status and one or more :class:`Issue`) anywhere below a handler; the
handler turns it into an ``application/fhir+json`` OperationOutcome whose issues carry ``expression`` (the
FHIRPath of the element at fault), ``details.text`` (French) and ``diagnostics`` (English).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

FHIR_JSON = "application/fhir+json"
ISSUE_SYSTEM = "urn:guichet:issue"


@dataclass(frozen=True)
class Issue:
    code: str  # FHIR issue-type: invalid, required, structure, value, business-rule, conflict, not-found…
    expression: str
    fr: str
    en: str
    rule: str = ""  # our own code (urn:guichet:issue), e.g. "employer-cannot-request"
    severity: str = "error"

    def to_fhir(self) -> dict[str, Any]:
        details: dict[str, Any] = {"text": self.fr}
        if self.rule:
            details["coding"] = [{"system": ISSUE_SYSTEM, "code": self.rule}]
        return {"severity": self.severity, "code": self.code, "details": details, "diagnostics": self.en,
                "expression": [self.expression]}


class FhirError(Exception):
    def __init__(self, status: int, issues: list[Issue], headers: dict[str, str] | None = None) -> None:
        super().__init__("; ".join(i.en for i in issues))
        self.status = status
        self.issues = issues
        self.headers = headers or {}


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.to_fhir() for i in issues]}


def fhir_response(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                        status=status, content_type=FHIR_JSON, charset="utf-8", headers=headers)


def error_response(error: FhirError) -> web.Response:
    return fhir_response(operation_outcome(error.issues), status=error.status, headers=error.headers)


def one(status: int, code: str, expression: str, fr: str, en: str, rule: str = "",
        headers: dict[str, str] | None = None) -> FhirError:
    """A FhirError with a single issue."""
    return FhirError(status, [Issue(code, expression, fr, en, rule)], headers)
