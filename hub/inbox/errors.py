"""Errors of the inbox services: each carries the French sentence the user reads and an HTTP status.

``NotFound`` is also what a user gets for a thread they may not see (never 403: existence is not leaked).
"""

from __future__ import annotations


class InboxError(Exception):
    """A refusal the user can understand (``message`` in French); ``status`` is the HTTP status to answer."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(InboxError):
    status = 404


class Forbidden(InboxError):
    status = 403


class Conflict(InboxError):
    """The request's status does not allow the action (e.g. replying to a closed request)."""

    status = 409


class Invalid(InboxError):
    status = 400


THREAD_NOT_FOUND = "Demande introuvable."
