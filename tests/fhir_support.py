"""Helpers of the FHIR API tests: real keys, real signed JWTs, registered clients, example Bundles made current."""

from __future__ import annotations

import base64
import copy
import json
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from hub import clock
from hub.core import Hub
from hub.demo import EXAMPLE_DIRECTORY
from hub.directory.importer import import_directory
from hub.smart.clients import register_client

EXAMPLES = Path(__file__).resolve().parent.parent / "schemas" / "fhir" / "examples"
ALL_SCOPES = "system/Bundle.write system/Task.read system/Communication.read"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64(n: int, size: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


def public_jwk(key: Any, kid: str) -> dict[str, str]:
    """The public JWK of a cryptography private key."""
    pub = key.public_key()
    if isinstance(pub, ec.EllipticCurvePublicKey):
        size = 32 if pub.curve.name == "secp256r1" else 48
        n = pub.public_numbers()
        return {"kty": "EC", "crv": "P-256" if size == 32 else "P-384", "x": b64(n.x, size), "y": b64(n.y, size),
                "kid": kid}
    if isinstance(pub, rsa.RSAPublicKey):
        rn = pub.public_numbers()
        return {"kty": "RSA", "n": b64(rn.n, (rn.n.bit_length() + 7) // 8), "e": b64(rn.e, 3), "kid": kid}
    raw = pub.public_bytes_raw()
    return {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), "kid": kid}


def new_key(alg: str = "ES256") -> Any:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    if alg == "RS384":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


@dataclass
class Client:
    id: str
    key: Any
    kid: str
    alg: str


async def add_client(hub: Hub, alg: str = "ES256", structure: str = "CPTS-NANTES-NORD", scopes: str = ALL_SCOPES,
                     name: str = "Logiciel CPTS") -> Client:
    key, kid = new_key(alg), f"k-{uuid.uuid4().hex[:8]}"
    async with hub.db.session() as session, session.begin():
        row = await register_client(session, name, structure, json.dumps({"keys": [public_jwk(key, kid)]}), scopes)
    return Client(row.id, key, kid, alg)


def assertion(client: Client, audience: str, *, alg: str | None = None, key: Any = None,
              headers: dict[str, Any] | None = None, **claims: Any) -> str:
    now = int(time.time())
    body: dict[str, Any] = {"iss": client.id, "sub": client.id, "aud": audience, "exp": now + 240, "iat": now,
                            "jti": uuid.uuid4().hex}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    hdr = {"kid": client.kid}
    hdr.update(headers or {})
    return jwt.encode(body, key if key is not None else client.key, algorithm=alg or client.alg, headers=hdr)


def token_form(signed: str, scope: str = ALL_SCOPES) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": signed,
            "scope": scope}


async def get_token(http: aiohttp.ClientSession, base: str, client: Client, scope: str = ALL_SCOPES) -> str:
    async with http.post(base + "/oauth/token", data=token_form(assertion(client, base + "/oauth/token"), scope)) as r:
        body = await r.json()
        assert r.status == 200, body
        return str(body["access_token"])


def example(event: str, today: date | None = None, header_id: str | None = None) -> dict[str, Any]:
    """The schema's example Bundle for ``event`` with dates moved around ``today`` and a fresh MessageHeader id."""
    today = today or clock.today()
    data: dict[str, Any] = copy.deepcopy(json.loads((EXAMPLES / f"{event}.json").read_text(encoding="utf-8")))
    for entry in data["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "MessageHeader":
            res["id"] = header_id or uuid.uuid4().hex
        if res["resourceType"] == "Observation" and "effectivePeriod" in res:
            res["effectivePeriod"] = {"start": (today - timedelta(days=45)).isoformat(),
                                      "end": (today + timedelta(days=30)).isoformat()}
        if res["resourceType"] == "Consent":
            res["dateTime"] = (today - timedelta(days=1)).isoformat()
    return data


def resource(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type)


def entry_of(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(e for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type)


async def post_message(http: aiohttp.ClientSession, base: str, token: str, bundle: dict[str, Any] | bytes,
                       content_type: str = "application/fhir+json") -> tuple[int, dict[str, Any]]:
    data = bundle if isinstance(bundle, bytes) else json.dumps(bundle).encode()
    async with http.post(base + "/fhir/$process-message", data=data,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": content_type}) as r:
        return r.status, json.loads(await r.read())


@pytest.fixture(name="directory_hub")
async def directory_hub_fixture(hub: Hub) -> Hub:
    """The hub with the example directory only (structures, employers, physicians): no accounts to hash."""
    report = await import_directory(hub, EXAMPLE_DIRECTORY, progress=False)
    assert not report.errors
    return hub
