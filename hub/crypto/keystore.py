"""The key store: a directory holding key-encryption keys (KEK), the lookup-hash key and the token key.

Layout of ``GUICHET_KEYS_DIR``::

    kek-<id>.key        32 random bytes, base64 — one per generation; the newest named in ``active-kek``
    active-kek          the id of the KEK that wraps new data keys
    index.key           32 random bytes, base64 — HMAC key of the keyed hashes (never rotated in place)
    audit.key           32 random bytes, base64 — HMAC key of the audit chain, its checkpoints and pseudonyms
    token-signing.pem   the hub's EC P-256 private key that signs API access tokens

Private files are created mode 0600. Nothing here is ever written to the database.
"""

from __future__ import annotations

import base64
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


class KeyStoreError(RuntimeError):
    """The key store is missing, unreadable or lacks a key that data refers to."""


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


class KeyStore:
    """Read and create keys in one directory. Reloads from disk when asked for an unknown KEK id,
    so a running server picks up a rotation made by ``guichet keys rotate`` in another process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._keks: dict[str, bytes] = {}

    # -- creation -------------------------------------------------------------------------------
    def initialise(self) -> bool:
        """Create any missing key; return True when something was generated."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        created = False
        if not (self.directory / "active-kek").exists():
            self.new_kek()
            created = True
        if not (self.directory / "index.key").exists():
            _write_private(self.directory / "index.key", base64.b64encode(secrets.token_bytes(32)))
            created = True
        if not (self.directory / "audit.key").exists():
            self.audit_key()
            created = True
        if not (self.directory / "token-signing.pem").exists():
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            _write_private(self.directory / "token-signing.pem", pem)
            created = True
        return created

    def new_kek(self) -> str:
        """Generate a KEK, make it the active one and return its id."""
        self.directory.mkdir(parents=True, exist_ok=True)
        kek_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        _write_private(self.directory / f"kek-{kek_id}.key", base64.b64encode(secrets.token_bytes(32)))
        tmp = self.directory / "active-kek.tmp"
        tmp.write_text(kek_id + "\n")
        tmp.replace(self.directory / "active-kek")
        self._keks.clear()
        return kek_id

    def retire_kek(self, kek_id: str) -> Path:
        """Remove a KEK file once no data key refers to it; return the removed path."""
        if kek_id == self.active_kek_id():
            raise KeyStoreError("refusing to remove the active key-encryption key")
        path = self.directory / f"kek-{kek_id}.key"
        path.unlink()
        self._keks.pop(kek_id, None)
        return path

    # -- reading --------------------------------------------------------------------------------
    def active_kek_id(self) -> str:
        try:
            return (self.directory / "active-kek").read_text().strip()
        except FileNotFoundError as exc:
            raise KeyStoreError(f"no key store at {self.directory}: run `guichet init`") from exc

    def kek_ids(self) -> list[str]:
        return sorted(p.name[4:-4] for p in self.directory.glob("kek-*.key"))

    def kek(self, kek_id: str) -> bytes:
        key = self._keks.get(kek_id)
        if key is None:
            path = self.directory / f"kek-{kek_id}.key"
            try:
                key = base64.b64decode(path.read_bytes())
            except FileNotFoundError as exc:
                raise KeyStoreError(f"key-encryption key {kek_id} is missing from {self.directory}") from exc
            self._keks[kek_id] = key
        return key

    def index_key(self) -> bytes:
        try:
            return base64.b64decode((self.directory / "index.key").read_bytes())
        except FileNotFoundError as exc:
            raise KeyStoreError(f"no index key in {self.directory}: run `guichet init`") from exc

    def audit_key(self) -> bytes:
        """The audit chain's key; created on first use (a key store made before it existed gains it)."""
        path = self.directory / "audit.key"
        try:
            return base64.b64decode(path.read_bytes())
        except FileNotFoundError:
            if not self.directory.is_dir():
                raise KeyStoreError(f"no key store at {self.directory}: run `guichet init`") from None
        try:
            _write_private(path, base64.b64encode(secrets.token_bytes(32)))
        except FileExistsError:
            pass  # another process made it first
        return base64.b64decode(path.read_bytes())

    def token_signing_key(self) -> ec.EllipticCurvePrivateKey:
        pem = (self.directory / "token-signing.pem").read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyStoreError("token-signing.pem is not an EC private key")
        return key
