"""Envelope encryption: AES-256-GCM under a per-record data key, wrapped (RFC 3394) by the active KEK.

Contract:
- :meth:`Vault.new_data_key` makes a fresh data key; the caller stores ``DataKey.row`` (id, KEK id, wrapped key).
- :meth:`Vault.seal` encrypts with that key; ``aad`` binds the ciphertext to its place (``"table:id:field"``),
  so a ciphertext moved to another row or column fails to open.
- :meth:`Vault.open` unwraps (cached per process) and decrypts; any tampering raises :class:`DecryptError`.
Blob format: ``0x01 | nonce(12) | ciphertext+tag``.
"""

from __future__ import annotations

import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from hub.crypto.keystore import KeyStore

VERSION = 1


class DecryptError(RuntimeError):
    """A ciphertext or a wrapped key did not authenticate."""


@dataclass(frozen=True)
class WrappedKey:
    """What the ``data_keys`` table stores for one data key."""

    id: str
    kek_id: str
    wrapped: bytes


@dataclass(frozen=True)
class DataKey:
    id: str
    key: bytes
    row: WrappedKey


class Vault:
    """Seals and opens record fields. Holds at most ``cache_size`` unwrapped data keys in memory."""

    def __init__(self, keystore: KeyStore, cache_size: int = 4096) -> None:
        self.keystore = keystore
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size

    def new_data_key(self) -> DataKey:
        kek_id = self.keystore.active_kek_id()
        key = AESGCM.generate_key(bit_length=256)
        row = WrappedKey(id=str(uuid.uuid4()), kek_id=kek_id, wrapped=aes_key_wrap(self.keystore.kek(kek_id), key))
        self._remember(row.id, key)
        return DataKey(id=row.id, key=key, row=row)

    def unwrap(self, row: WrappedKey) -> bytes:
        cached = self._cache.get(row.id)
        if cached is not None:
            self._cache.move_to_end(row.id)
            return cached
        try:
            key = aes_key_unwrap(self.keystore.kek(row.kek_id), row.wrapped)
        except InvalidUnwrap as exc:
            raise DecryptError(f"data key {row.id} does not unwrap under KEK {row.kek_id}") from exc
        self._remember(row.id, key)
        return key

    def rewrap(self, row: WrappedKey, new_kek_id: str) -> WrappedKey:
        """Return ``row`` wrapped under ``new_kek_id``; the data itself is untouched."""
        key = self.unwrap(row)
        return WrappedKey(id=row.id, kek_id=new_kek_id, wrapped=aes_key_wrap(self.keystore.kek(new_kek_id), key))

    @staticmethod
    def seal(key: bytes, plaintext: bytes | str, aad: str) -> bytes:
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        nonce = secrets.token_bytes(12)
        return bytes([VERSION]) + nonce + AESGCM(key).encrypt(nonce, data, aad.encode())

    @staticmethod
    def open_with(key: bytes, blob: bytes, aad: str) -> bytes:
        if not blob or blob[0] != VERSION:
            raise DecryptError("unknown ciphertext version")
        try:
            return AESGCM(key).decrypt(blob[1:13], blob[13:], aad.encode())
        except InvalidTag as exc:
            raise DecryptError(f"ciphertext for {aad} does not authenticate") from exc

    def open(self, row: WrappedKey, blob: bytes, aad: str) -> bytes:
        return self.open_with(self.unwrap(row), blob, aad)

    def _remember(self, key_id: str, key: bytes) -> None:
        self._cache[key_id] = key
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
