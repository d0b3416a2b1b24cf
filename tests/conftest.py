"""Shared fixtures: a real database (SQLite file, or PostgreSQL in a schema of its own), a real key store,
the real app over real sockets.

The database is chosen by ``GUICHET_TEST_DATABASE_URL`` (default: a SQLite file per test). With PostgreSQL each
test gets a fresh schema ``t_<random>``, dropped afterwards, so parallel runs never meet.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hub.config import Settings, load_settings
from hub.core import Hub
from hub.crypto.keystore import KeyStore
from hub.plugins import load_connectors
from hub.server import Server
from hub.store.migrate import upgrade

PG_URL = os.environ.get("GUICHET_TEST_DATABASE_URL", "")


def backend() -> str:
    return "postgresql" if PG_URL.startswith("postgresql") else "sqlite"


async def _pg_admin(sql: str) -> None:
    dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment a ``guichet`` subprocess needs to work on the same data, keys and database as ``settings``."""
    env = dict(os.environ, GUICHET_HOME=str(settings.home), GUICHET_KEYS_DIR=str(settings.keys_dir),
               GUICHET_DATABASE_URL=settings.database_url, GUICHET_CONFIG=str(settings.home / "none.toml"))
    if settings.database_schema:
        env["GUICHET_DATABASE_SCHEMA"] = settings.database_schema
    return env


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for one test: data dir and key store under ``tmp_path``, ephemeral ports."""

    def make(**overrides: Any) -> Settings:
        env = {"GUICHET_HOME": str(tmp_path / "home"), "GUICHET_KEYS_DIR": str(tmp_path / "keys"),
               "GUICHET_HTTP_PORT": "0", "GUICHET_SMTP_PORT": "0",
               "GUICHET_ADDRESS": "guichet@spsti-test.fr", "GUICHET_CONFIG": str(tmp_path / "none.toml")}
        settings = load_settings(env)
        return settings.with_(**overrides) if overrides else settings

    return make


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[str, str | None]]:
    """(url, schema) of an empty database for this test."""
    if backend() == "postgresql":
        schema = f"t_{uuid.uuid4().hex[:12]}"
        await _pg_admin(f'CREATE SCHEMA "{schema}"')
        try:
            yield PG_URL, schema
        finally:
            await _pg_admin(f'DROP SCHEMA "{schema}" CASCADE')
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'guichet.db'}", None


@pytest.fixture
async def hub(settings_factory: Callable[..., Settings], database: tuple[str, str | None]) -> AsyncIterator[Hub]:
    """A migrated, empty hub with a fresh key store."""
    url, schema = database
    settings = settings_factory(database_url=url, database_schema=schema)
    KeyStore(settings.keys_dir).initialise()
    the_hub = Hub.open(settings)
    await upgrade(the_hub.db)
    try:
        yield the_hub
    finally:
        await the_hub.close()


@pytest.fixture
async def demo_hub(hub: Hub) -> Hub:
    """The hub with the demo SPSTI loaded (directory, accounts, three requests)."""
    from hub.demo import load_demo

    await load_demo(hub)
    await hub.audit.flush()  # the demo's audit entries are chained before the test looks at them
    return hub


class RunningServer:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.hub = server.hub

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.http_port}"


@pytest.fixture
async def start_server() -> AsyncIterator[Callable[..., Awaitable[RunningServer]]]:
    """``await start_server(hub, roles=("api",))`` starts the real app (and connectors) on ephemeral ports."""
    servers: list[Server] = []

    async def start(the_hub: Hub, roles: tuple[str, ...] = ("api",)) -> RunningServer:
        server = Server(the_hub, load_connectors(), roles)
        await server.start()
        servers.append(server)
        return RunningServer(server)

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def server(hub: Hub) -> AsyncIterator[RunningServer]:
    """The demo-less hub served on an ephemeral HTTP port (api role)."""
    srv = Server(hub, load_connectors(), ("api",))
    await srv.start()
    try:
        yield RunningServer(srv)
    finally:
        await srv.stop()


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Poll ``check`` until it is true (for background workers); fail the test on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
