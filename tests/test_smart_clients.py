"""Registering API clients (``guichet clients add``), JWK Set checks and the rate limiter."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.core import Hub
from hub.smart.jwks import JwksError, check_jwks, load_keys
from hub.store.models import ApiClient
from tests.conftest import cli_env
from tests.fhir_support import ALL_SCOPES, directory_hub_fixture, new_key, public_jwk  # noqa: F401


async def guichet(hub: Hub, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "hub.cli", *args, env=cli_env(hub.settings),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


def jwks_file(tmp_path: Path, *keys: Mapping[str, object]) -> str:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": list(keys)}))
    return str(path)


async def test_clients_add_stores_public_keys_and_prints_the_id_last(directory_hub: Hub, tmp_path: Path) -> None:
    jwk = public_jwk(new_key("ES256"), "cpts-2026")
    code, out, err = await guichet(directory_hub, "clients", "add", "--name", "Logiciel CPTS Nord", "--structure",
                                   "CPTS-NANTES-NORD", "--jwks", jwks_file(tmp_path, jwk), "--scope", ALL_SCOPES)
    assert code == 0, err
    client_id = out.strip().splitlines()[-1]
    async with directory_hub.db.session() as session:
        row = (await session.execute(select(ApiClient).where(ApiClient.id == client_id))).scalar_one()
    assert row.structure_id == "CPTS-NANTES-NORD" and row.scopes == ALL_SCOPES
    assert json.loads(row.jwks)["keys"][0]["x"] == jwk["x"]
    code, out, _ = await guichet(directory_hub, "clients", "list")
    assert code == 0 and client_id in out
    code, out, _ = await guichet(directory_hub, "clients", "disable", client_id)
    assert code == 0
    async with directory_hub.db.session() as session:
        assert (await session.get(ApiClient, client_id)).active is False  # type: ignore[union-attr]
    from hub.smart.clients import ClientDirectory
    assert await ClientDirectory(directory_hub.db).get(client_id) is None


@pytest.mark.parametrize(("change", "message"), [
    ({"structure": "CPTS-INCONNUE"}, "aucune CPTS/DAC"),
    ({"scope": "system/Patient.write"}, "portée(s) inconnue(s)"),
    ({"private": True}, "éléments privés (d)"),
])
async def test_clients_add_refuses_with_a_clear_message(directory_hub: Hub, tmp_path: Path,
                                                         change: dict[str, object], message: str) -> None:
    key = new_key("ES256")
    jwk: dict[str, object] = dict(public_jwk(key, "k1"))
    if change.get("private"):
        jwk["d"] = "c2VjcmV0"
    code, out, err = await guichet(directory_hub, "clients", "add", "--name", "X", "--structure",
                                   str(change.get("structure", "DAC-44")), "--jwks", jwks_file(tmp_path, jwk),
                                   "--scope", str(change.get("scope", ALL_SCOPES)))
    assert code != 0 and message in err, err
    async with directory_hub.db.session() as session:
        assert (await session.execute(select(ApiClient))).first() is None


def test_jwks_checks() -> None:
    ec = public_jwk(new_key("ES256"), "a")
    with pytest.raises(JwksError, match="symétrique|non pris en charge|privés"):
        check_jwks(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}))
    with pytest.raises(JwksError, match="kid"):
        check_jwks(json.dumps({"keys": [{**ec, "kid": "../../etc/passwd"}]}))
    with pytest.raises(JwksError, match="en double"):
        check_jwks(json.dumps({"keys": [ec, ec]}))
    with pytest.raises(JwksError, match="alg"):
        check_jwks(json.dumps({"keys": [{**ec, "alg": "HS256"}]}))
    from cryptography.hazmat.primitives.asymmetric import rsa
    small = public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=1024), "r")  # noqa: S505
    with pytest.raises(JwksError, match="trop courte"):
        check_jwks(json.dumps({"keys": [small]}))
    stored = check_jwks(json.dumps(ec))  # a bare JWK is accepted as a set of one
    keys = load_keys(stored)
    assert [(k.kid, k.alg) for k in keys] == [("a", "ES256")]
    algs = {load_keys(check_jwks(json.dumps(public_jwk(new_key(a), a))))[0].alg for a in ("ES384", "RS384", "EdDSA")}
    assert algs == {"ES384", "RS384", "EdDSA"}
