"""Clients' public keys (JWK Sets): checked at registration, loaded once for signature checks.

Contract:
- ``check_jwks(text) -> str`` validates a JWK Set (or a single JWK) given by a client and returns the canonical
  JSON to store; raises :class:`JwksError` (French message) for private members (``d``, RSA primes…),
  symmetric keys, unsupported key types or curves, RSA keys under 2048 bits, missing, duplicated or path-like
  ``kid``\\ s.
- ``load_keys(stored) -> list[ClientKey]`` turns the stored set into key objects, each with the one signature
  algorithm it may verify (EC P-256 → ES256, P-384 → ES384, RSA → RS384, Ed25519 → EdDSA).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
SAFE_KID = re.compile(r"^[A-Za-z0-9_\-:.=+]{1,128}$")
MIN_RSA_BITS = 2048
PUBLIC_MEMBERS = {"EC": ("kty", "crv", "x", "y", "kid", "alg", "use"),
                  "RSA": ("kty", "n", "e", "kid", "alg", "use"),
                  "OKP": ("kty", "crv", "x", "kid", "alg", "use")}


class JwksError(ValueError):
    """Why a JWK Set is refused (French, for the administrator)."""


@dataclass(frozen=True)
class ClientKey:
    kid: str
    alg: str
    key: Any  # a cryptography public key object


def kid_is_safe(kid: str) -> bool:
    """A key id is a plain token: no path separators, no ``..``, no URL, no control characters."""
    return bool(SAFE_KID.match(kid)) and ".." not in kid


def _key_and_alg(jwk: dict[str, Any]) -> tuple[Any, str]:
    kty = jwk.get("kty")
    text = json.dumps(jwk)
    if kty == "EC":
        ec_key = ECAlgorithm.from_jwk(text)
        if not isinstance(ec_key, ec.EllipticCurvePublicKey):
            raise JwksError("clé EC non publique")
        curve = ec_key.curve.name
        if curve == "secp256r1":
            return ec_key, "ES256"
        if curve == "secp384r1":
            return ec_key, "ES384"
        raise JwksError(f"courbe EC non prise en charge : {jwk.get('crv')} (attendu P-256 ou P-384)")
    if kty == "RSA":
        rsa_key = RSAAlgorithm.from_jwk(text)
        if not isinstance(rsa_key, rsa.RSAPublicKey):
            raise JwksError("clé RSA non publique")
        if rsa_key.key_size < MIN_RSA_BITS:
            raise JwksError(f"clé RSA trop courte : {rsa_key.key_size} bits (minimum {MIN_RSA_BITS})")
        return rsa_key, "RS384"
    if kty == "OKP":
        if jwk.get("crv") != "Ed25519":
            raise JwksError(f"courbe OKP non prise en charge : {jwk.get('crv')} (attendu Ed25519)")
        ed_key = OKPAlgorithm.from_jwk(text)
        if not isinstance(ed_key, ed25519.Ed25519PublicKey):
            raise JwksError("clé Ed25519 non publique")
        return ed_key, "EdDSA"
    raise JwksError(f"type de clé non pris en charge : {kty!r} (attendu EC, RSA ou OKP)")


def check_jwks(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise JwksError(f"le fichier JWKS n'est pas du JSON valide ({exc})") from exc
    if isinstance(data, dict) and "keys" not in data and "kty" in data:
        data = {"keys": [data]}
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list) or not keys:
        raise JwksError("le fichier JWKS doit contenir un objet {\"keys\": [...]} non vide")
    seen: set[str] = set()
    public: list[dict[str, Any]] = []
    for i, jwk in enumerate(keys, 1):
        if not isinstance(jwk, dict):
            raise JwksError(f"clé n° {i} : un objet JSON est attendu")
        private = [m for m in PRIVATE_MEMBERS if m in jwk]
        if private:
            raise JwksError(f"clé n° {i} : elle contient des éléments privés ({', '.join(private)}) ; "
                            "n'enregistrez que les clés publiques")
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            raise JwksError(f"clé n° {i} : « kid » (identifiant de clé) manquant")
        if not kid_is_safe(kid):
            raise JwksError(f"clé n° {i} : « kid » {kid!r} refusé (lettres, chiffres et - _ : . = + seulement)")
        if kid in seen:
            raise JwksError(f"clé n° {i} : « kid » {kid!r} en double")
        seen.add(kid)
        try:
            _, alg = _key_and_alg(jwk)
        except JwksError as exc:
            raise JwksError(f"clé n° {i} : {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - any parse failure of the key material
            raise JwksError(f"clé n° {i} : illisible ({type(exc).__name__}: {exc})") from exc
        if jwk.get("alg") not in (None, alg):
            raise JwksError(f"clé n° {i} : « alg » {jwk.get('alg')!r} ne correspond pas à la clé (attendu {alg})")
        public.append({m: jwk[m] for m in PUBLIC_MEMBERS[str(jwk["kty"])] if m in jwk})
    return json.dumps({"keys": public}, sort_keys=True, separators=(",", ":"))


def load_keys(stored: str) -> list[ClientKey]:
    out: list[ClientKey] = []
    for jwk in json.loads(stored)["keys"]:
        if any(m in jwk for m in PRIVATE_MEMBERS):
            continue
        key, alg = _key_and_alg(jwk)
        out.append(ClientKey(kid=str(jwk["kid"]), alg=alg, key=key))
    return out
