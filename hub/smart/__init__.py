"""SMART Backend Services for the FHIR API: client registry, client-assertion checks, access tokens.

Every authentication decision is taken here, in the hub; the FHIR connector only converts HTTP to calls of
:class:`hub.smart.service.SmartAuth` and its answers back to HTTP.
"""

from hub.smart.errors import AuthError, OAuthError
from hub.smart.scopes import KNOWN_SCOPES
from hub.smart.service import AccessGrant, SmartAuth, TokenResponse

__all__ = ["KNOWN_SCOPES", "AccessGrant", "AuthError", "OAuthError", "SmartAuth", "TokenResponse"]
