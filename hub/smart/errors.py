"""Errors of the SMART layer, carrying what the HTTP side needs to answer (status, OAuth code, texts)."""

from __future__ import annotations


class OAuthError(Exception):
    """A refused token request (RFC 6749 §5.2): ``error`` is the OAuth code, ``description`` says why (English,
    for integrators), ``status`` 400/401/429; ``retry_after`` in seconds for 429."""

    def __init__(self, error: str, description: str, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.retry_after = retry_after

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class AuthError(Exception):
    """A refused API call: 401 (no or bad access token), 403 (scope), 429 (rate limit).

    ``fr``/``en`` say what to do; ``retry_after`` in seconds for 429."""

    def __init__(self, status: int, code: str, fr: str, en: str, retry_after: int | None = None) -> None:
        super().__init__(en)
        self.status = status
        self.code = code
        self.fr = fr
        self.en = en
        self.retry_after = retry_after
