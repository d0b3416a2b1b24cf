"""HTTPS when a certificate is configured: TLS ≥ 1.2, ECDHE + AEAD suites only, HSTS."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from hub.core import Hub
from hub.server import Server
from tests.certs import self_signed


def client(max_version: ssl.TLSVersion, ciphers: str | None = None,
           min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.minimum_version, ctx.maximum_version = min_version, max_version
    if ciphers:
        ctx.set_ciphers(ciphers + ":@SECLEVEL=0")
    return ctx


async def handshake(port: int, ctx: ssl.SSLContext) -> tuple[str, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    obj = writer.get_extra_info("ssl_object")
    version, cipher = obj.version(), obj.cipher()[0]
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    await writer.drain()
    response = await reader.read()
    writer.close()
    assert b"200 OK" in response and b"Strict-Transport-Security: max-age=" in response
    return version, cipher


@pytest.fixture
async def tls_server(hub: Hub, tmp_path: Path):  # type: ignore[no-untyped-def]
    cert, key = self_signed(tmp_path)
    hub.settings = hub.settings.with_(tls_cert=cert, tls_key=key)
    server = Server(hub, [], ("api",))
    await server.start()
    yield server
    await server.stop()


async def test_tls13_and_tls12_aead_are_accepted(tls_server: Server) -> None:
    assert tls_server.http_port is not None
    version, _ = await handshake(tls_server.http_port, client(ssl.TLSVersion.TLSv1_3))
    assert version == "TLSv1.3"
    version, cipher = await handshake(tls_server.http_port, client(ssl.TLSVersion.TLSv1_2))
    assert version == "TLSv1.2" and cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher)


@pytest.mark.parametrize("ciphers", ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256"])
async def test_cbc_and_static_rsa_suites_are_refused(tls_server: Server, ciphers: str) -> None:
    assert tls_server.http_port is not None
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        await handshake(tls_server.http_port, client(ssl.TLSVersion.TLSv1_2, ciphers))


async def test_tls11_is_refused(tls_server: Server) -> None:
    assert tls_server.http_port is not None
    try:
        ctx = client(ssl.TLSVersion.TLSv1_1, "ALL")
    except ssl.SSLError:
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        await handshake(tls_server.http_port, ctx)
