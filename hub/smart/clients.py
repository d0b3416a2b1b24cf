"""The API client registry: a CPTS or DAC of the directory with its public keys and allowed scopes.

Contract:
- ``await register_client(session, name, structure_id, jwks_text, scopes) -> ApiClient`` checks the structure
  exists, the JWK Set holds only public keys, the scopes are known; raises :class:`ClientError` (French).
- ``ClientDirectory(db).get(client_id)`` returns the active client with its parsed keys, or None. Parsed clients
  are cached for ``ttl`` seconds per process (a deactivation reaches every process within that delay).
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.smart.jwks import ClientKey, JwksError, check_jwks, load_keys
from hub.smart.scopes import KNOWN_SCOPES, parse_scopes, unknown_scopes
from hub.store.db import Database
from hub.store.models import ApiClient, Structure

CLIENT_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
NEGATIVE_TTL = 2.0


class ClientError(ValueError):
    """Why a client cannot be registered (French, for the administrator)."""


@dataclass(frozen=True)
class ClientInfo:
    id: str
    name: str
    structure_id: str
    scopes: tuple[str, ...]
    keys: tuple[ClientKey, ...]


def new_client_id() -> str:
    return "gc-" + secrets.token_hex(12)


async def register_client(session: AsyncSession, name: str, structure_id: str, jwks_text: str,
                          scopes_text: str) -> ApiClient:
    if not name.strip():
        raise ClientError("le nom du client est vide")
    if await session.get(Structure, structure_id) is None:
        raise ClientError(f"aucune CPTS/DAC d'identifiant {structure_id} dans l'annuaire (importez-la d'abord)")
    scopes = parse_scopes(scopes_text)
    if not scopes:
        raise ClientError(f"indiquez au moins une portée (--scope), parmi : {' '.join(KNOWN_SCOPES)}")
    unknown = unknown_scopes(scopes)
    if unknown:
        raise ClientError(f"portée(s) inconnue(s) : {' '.join(unknown)} (connues : {' '.join(KNOWN_SCOPES)})")
    try:
        jwks = check_jwks(jwks_text)
    except JwksError as exc:
        raise ClientError(f"JWKS refusé : {exc}") from exc
    client = ApiClient(id=new_client_id(), name=name.strip()[:200], structure_id=structure_id, jwks=jwks,
                       scopes=" ".join(scopes), active=True)
    session.add(client)
    await session.flush()
    return client


class ClientDirectory:
    def __init__(self, db: Database, ttl: float = 30.0) -> None:
        self.db = db
        self.ttl = ttl
        self._cache: dict[str, tuple[float, ClientInfo | None]] = {}

    async def get(self, client_id: str) -> ClientInfo | None:
        if not CLIENT_ID.match(client_id):
            return None
        now = time.monotonic()
        cached = self._cache.get(client_id)
        if cached is not None and now - cached[0] < (self.ttl if cached[1] is not None else NEGATIVE_TTL):
            return cached[1]
        async with self.db.session() as session:
            row = (await session.execute(select(ApiClient).where(ApiClient.id == client_id))).scalar_one_or_none()
        info = None
        if row is not None and row.active:
            info = ClientInfo(id=row.id, name=row.name, structure_id=row.structure_id,
                              scopes=tuple(parse_scopes(row.scopes)), keys=tuple(load_keys(row.jwks)))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[client_id] = (now, info)
        return info

    def forget(self, client_id: str) -> None:
        self._cache.pop(client_id, None)
