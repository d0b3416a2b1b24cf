"""The typed outcomes of intake other than "accepted", which each connector translates for its sender.

Contract: :class:`IntakeRefused` carries the legal :class:`~hub.intake.law.Violation` list (a form shows each next
to its field, the FHIR API answers an OperationOutcome); :class:`IntakeConflict` says the ``source_key`` was
already used for another body (FHIR 409). Storage failures are not wrapped: a connector catches
``UNAVAILABLE`` (the errors that mean "temporarily unavailable, retry later") without knowing the store.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from hub.intake.law import Violation

UNAVAILABLE: tuple[type[Exception], ...] = (SQLAlchemyError, OSError)


class IntakeError(Exception):
    """Base of the typed intake outcomes."""


class IntakeRefused(IntakeError):
    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(", ".join(v.code for v in violations))
        self.violations = violations


class IntakeConflict(IntakeError):
    """The same ``source_key`` was accepted earlier with another body (``body_digest``)."""
