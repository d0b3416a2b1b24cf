"""SMART Backend Services: every refusal class of the token endpoint, real keys and real signed JWTs, over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from hub.core import Hub
from hub.smart.replay import ReplayStore
from tests.fhir_support import (  # noqa: F401 - directory_hub is a fixture
    ALL_SCOPES,
    Client,
    add_client,
    assertion,
    directory_hub_fixture,
    example,
    get_token,
    new_key,
    post_message,
    token_form,
)


class Api:
    def __init__(self, url: str, http: aiohttp.ClientSession, hub: Hub) -> None:
        self.url, self.http, self.hub = url, http, hub
        self.token_url = url + "/oauth/token"

    async def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any], Any]:
        async with self.http.post(self.token_url, data=form) as r:
            return r.status, await r.json(), r.headers


@pytest.fixture
async def api(directory_hub: Hub, start_server: Any) -> AsyncIterator[Api]:
    srv = await start_server(directory_hub)
    async with aiohttp.ClientSession() as http:
        yield Api(srv.url, http, directory_hub)


async def refused(api: Api, signed: str, status: int = 401, error: str = "invalid_client") -> str:
    code, body, headers = await api.token(token_form(signed))
    assert (code, body["error"]) == (status, error), body
    assert headers["Cache-Control"] == "no-store"
    return str(body["error_description"])


@pytest.mark.parametrize("alg", ["ES256", "ES384", "RS384", "EdDSA"])
async def test_each_allowed_algorithm_gets_a_short_lived_hub_signed_token(api: Api, alg: str) -> None:
    client = await add_client(api.hub, alg)
    code, body, _ = await api.token(token_form(assertion(client, api.token_url)))
    assert code == 200, body
    assert body["token_type"] == "bearer" and body["expires_in"] == 300
    async with api.http.get(api.url + "/.well-known/jwks.json") as r:
        hub_key = jwt.PyJWK((await r.json())["keys"][0])
    claims = jwt.decode(body["access_token"], hub_key.key, algorithms=["ES256"], audience=api.url + "/fhir")
    assert claims["sub"] == client.id and claims["structure"] == "CPTS-NANTES-NORD"
    assert claims["exp"] - claims["iat"] == 300 and claims["scope"] == ALL_SCOPES


async def test_granted_scopes_are_the_intersection(api: Api) -> None:
    client = await add_client(api.hub, scopes="system/Task.read")
    both = "system/Task.read system/Bundle.write"
    code, body, _ = await api.token(token_form(assertion(client, api.token_url), both))
    assert code == 200 and body["scope"] == "system/Task.read"
    code, body, _ = await api.token(token_form(assertion(client, api.token_url), "system/Bundle.write"))
    assert (code, body["error"]) == (400, "invalid_scope")


async def test_alg_none_is_refused(api: Api) -> None:
    client = await add_client(api.hub)
    now = int(time.time())
    unsigned = jwt.encode({"iss": client.id, "sub": client.id, "aud": api.token_url, "exp": now + 60,
                           "jti": uuid.uuid4().hex}, "", algorithm="none")
    assert "'none' is not allowed" in await refused(api, unsigned)


async def test_hmac_signed_with_the_public_key_is_refused(api: Api) -> None:
    """Algorithm confusion: HS256 keyed with the client's own public key (which an attacker knows)."""
    client = await add_client(api.hub)
    pem = client.key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": client.kid}).encode())
    now = int(time.time())
    payload = base64.urlsafe_b64encode(json.dumps({"iss": client.id, "sub": client.id, "aud": api.token_url,
                                                   "exp": now + 60, "jti": uuid.uuid4().hex}).encode())
    signing_input = header.rstrip(b"=") + b"." + payload.rstrip(b"=")
    sig = base64.urlsafe_b64encode(hmac.new(pem, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    assert "HS256" in await refused(api, (signing_input + b"." + sig).decode())


async def test_algorithm_outside_the_allowlist_is_refused(api: Api) -> None:
    client = await add_client(api.hub, "RS384")
    assert "RS256" in await refused(api, assertion(client, api.token_url, alg="RS256"))
    ec_client = await add_client(api.hub, "ES256")
    # ES384 claimed with a P-256 registration: no registered key matches that algorithm
    await refused(api, assertion(ec_client, api.token_url, alg="ES384", key=new_key("ES384")))


@pytest.mark.parametrize("aud", ["https://evil.example/oauth/token", None])
async def test_wrong_or_missing_audience_is_refused(api: Api, aud: str | None) -> None:
    client = await add_client(api.hub)
    await refused(api, assertion(client, api.token_url, aud=aud) if aud is None else assertion(client, aud))


async def test_wrong_issuer_or_subject_is_refused(api: Api) -> None:
    client, other = await add_client(api.hub), await add_client(api.hub)
    # signed by client's key but claiming to be the other client
    assert "signature" in await refused(api, assertion(client, api.token_url, iss=other.id, sub=other.id,
                                                       headers={"kid": other.kid}))
    assert "sub" in await refused(api, assertion(client, api.token_url, sub=other.id))


async def test_unknown_client_is_refused(api: Api) -> None:
    client = await add_client(api.hub)
    assert "unknown" in await refused(api, assertion(client, api.token_url, iss="gc-nobody", sub="gc-nobody"))


async def test_expired_assertion_is_refused(api: Api) -> None:
    client = await add_client(api.hub)
    now = int(time.time())
    assert "expired" in await refused(api, assertion(client, api.token_url, exp=now - 120, iat=now - 300))


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_not_yet_valid_assertion_is_refused(api: Api, claim: str) -> None:
    client = await add_client(api.hub)
    now = int(time.time())
    extra: dict[str, Any] = {claim: now + 600, "exp": now + 800} if claim == "nbf" else {"iat": now + 600,
                                                                                          "exp": now + 700}
    assert "not valid yet" in await refused(api, assertion(client, api.token_url, **extra))


async def test_too_long_lived_assertion_is_refused(api: Api) -> None:
    client = await add_client(api.hub)
    assert "at most 300" in await refused(api, assertion(client, api.token_url, exp=int(time.time()) + 3600))


async def test_replayed_jti_is_refused(api: Api) -> None:
    client = await add_client(api.hub)
    signed = assertion(client, api.token_url, jti="once-only")
    code, _, _ = await api.token(token_form(signed))
    assert code == 200
    assert "already used" in await refused(api, signed)
    # the same jti in a freshly signed assertion is still a replay
    assert "already used" in await refused(api, assertion(client, api.token_url, jti="once-only"))
    assert "jti" in await refused(api, assertion(client, api.token_url, jti=None))


async def test_replay_store_is_shared_across_processes(directory_hub: Hub) -> None:
    """Two hubs (two engines, as two processes would have) on one database see the same used ids."""
    other = Hub.open(directory_hub.settings)
    try:
        from datetime import UTC, datetime, timedelta
        expires = datetime.now(UTC) + timedelta(minutes=5)
        assert await ReplayStore(directory_hub.db).first_use("gc-a", "j-1", expires)
        assert not await ReplayStore(other.db).first_use("gc-a", "j-1", expires)
        assert await ReplayStore(other.db).first_use("gc-b", "j-1", expires)
    finally:
        await other.close()


@pytest.mark.parametrize("header", [{"jku": "https://evil.example/jwks.json"}, {"x5u": "https://evil.example/c.pem"},
                                    {"kid": "../../keys/token-signing.pem"}, {"kid": "/etc/passwd"},
                                    {"jwk": {"kty": "EC"}}])
async def test_key_source_headers_are_refused(api: Api, header: dict[str, Any]) -> None:
    client = await add_client(api.hub)
    await refused(api, assertion(client, api.token_url, headers=header))


async def test_tampered_payload_is_refused(api: Api) -> None:
    client, other = await add_client(api.hub), await add_client(api.hub)
    head, payload, sig = assertion(client, api.token_url).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope_hint"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert "signature" in await refused(api, f"{head}.{forged}.{sig}")
    assert other.id  # a second registered client changes nothing


async def test_malformed_requests(api: Api) -> None:
    client = await add_client(api.hub)
    good = token_form(assertion(client, api.token_url))
    code, body, _ = await api.token({**good, "grant_type": "password"})
    assert (code, body["error"]) == (400, "unsupported_grant_type")
    code, body, _ = await api.token({**good, "scope": ""})
    assert (code, body["error"]) == (400, "invalid_scope")
    code, body, _ = await api.token({**good, "client_assertion": "not.a.jwt"})
    assert (code, body["error"]) == (401, "invalid_client")
    async with api.http.post(api.token_url, json=good) as r:
        assert r.status == 400 and (await r.json())["error"] == "invalid_request"


async def test_token_requests_are_rate_limited_per_client(directory_hub: Hub, start_server: Any) -> None:
    directory_hub.settings = directory_hub.settings.with_(extra={"token_rate": 0.01, "token_burst": 2})
    srv = await start_server(directory_hub)
    client, other = await add_client(directory_hub), await add_client(directory_hub)
    async with aiohttp.ClientSession() as http:
        for _ in range(2):
            await get_token(http, srv.url, client)
        async with http.post(srv.url + "/oauth/token",
                             data=token_form(assertion(client, srv.url + "/oauth/token"))) as r:
            assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
        await get_token(http, srv.url, other)  # another client has its own bucket


async def test_api_refuses_missing_forged_and_out_of_scope_tokens(api: Api) -> None:
    bundle = example("pdp-referral")
    status, body = await post_message(api.http, api.url, "", bundle)
    assert status == 401 and body["issue"][0]["code"] == "login"
    forged = jwt.encode({"sub": "x", "scope": ALL_SCOPES, "iss": api.url, "aud": api.url + "/fhir",
                         "exp": int(time.time()) + 60, "iat": int(time.time())},
                        new_key("ES256"), algorithm="ES256")
    status, body = await post_message(api.http, api.url, forged, bundle)
    assert status == 401
    reader: Client = await add_client(api.hub, scopes="system/Task.read")
    token = await get_token(api.http, api.url, reader, "system/Task.read")
    status, body = await post_message(api.http, api.url, token, bundle)
    assert status == 403 and "system/Bundle.write" in body["issue"][0]["diagnostics"]
    async with api.http.get(api.url + "/fhir/Task", headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 200


async def test_discovery_documents(api: Api) -> None:
    async with api.http.get(api.url + "/.well-known/smart-configuration") as r:
        conf = await r.json()
    assert conf["token_endpoint"] == api.token_url
    assert conf["token_endpoint_auth_signing_alg_values_supported"] == ["ES256", "ES384", "RS384", "EdDSA"]
    async with api.http.get(api.url + "/.well-known/jwks.json") as r:
        keys = (await r.json())["keys"]
    assert len(keys) == 1 and "d" not in keys[0]
