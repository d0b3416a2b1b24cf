"""Backup and restore as ``docs/operations.md`` tells it: the database and the key store together, restored into a
fresh data dir; the audit chain verifies and every encrypted record opens. The database without its key store
opens nothing (why they go together)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.config import load_settings
from hub.core import Hub
from hub.crypto.envelope import DecryptError
from hub.crypto.keystore import KeyStore, KeyStoreError
from hub.store.models import Request
from tests.conftest import PG_URL, _pg_admin, backend

ROOT = Path(__file__).resolve().parent.parent


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=180)


def environment(home: Path, keys: Path, url: str, schema: str | None) -> dict[str, str]:
    env = dict(os.environ, GUICHET_HOME=str(home), GUICHET_KEYS_DIR=str(keys), GUICHET_DATABASE_URL=url,
               GUICHET_CONFIG=str(home / "none.toml"))
    if schema:
        env["GUICHET_DATABASE_SCHEMA"] = schema
    return env


async def open_everything(env: dict[str, str]) -> int:
    """Decrypt every request's payload; return how many."""
    hub = Hub.open(load_settings(env))
    try:
        async with hub.db.session() as session:
            rows = (await session.execute(select(Request))).scalars().all()
            for row in rows:
                payload = await hub.sealer.open_json(session, row.data_key_id, "requests", row.id, "payload",
                                                     row.payload_enc)
                assert payload
        return len(rows)
    finally:
        await hub.db.dispose()


async def test_backup_then_restore_into_a_fresh_data_dir(tmp_path: Path, database: tuple[str, str | None]) -> None:
    url, schema = database
    source = environment(tmp_path / "home", tmp_path / "keys", url, schema)
    assert cli(source, "init", "--demo").returncode == 0
    backup = tmp_path / "backup"
    backup.mkdir()
    # 1. the backup: a consistent copy of the database, and the key store, taken together
    if backend() == "postgresql":
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        dumped = await asyncio.to_thread(subprocess.run, ["pg_dump", "-Fc", "--no-owner", "-n", str(schema), "-f",
                                                          str(backup / "guichet.dump"), dsn], capture_output=True)
        assert dumped.returncode == 0, dumped.stderr
    else:
        db_file = url.split("///", 1)[1]
        copied = await asyncio.to_thread(subprocess.run, ["sqlite3", db_file, f".backup {backup / 'guichet.db'}"],
                                         capture_output=True)
        assert copied.returncode == 0, copied.stderr
    with tarfile.open(backup / "keys.tar", "w") as tar:
        tar.add(tmp_path / "keys", arcname="keys")

    # 2. the restore, into a data dir and a database that never saw this installation
    fresh = tmp_path / "restored"
    fresh.mkdir()
    with tarfile.open(backup / "keys.tar") as tar:
        tar.extractall(fresh, filter="tar")
    restored_db = None
    if backend() == "postgresql":
        restored_db = f"restore_{uuid.uuid4().hex[:10]}"
        await _pg_admin(f'CREATE DATABASE "{restored_db}"')
        new_url = PG_URL.rsplit("/", 1)[0] + f"/{restored_db}"
        new_dsn = new_url.replace("postgresql+asyncpg://", "postgresql://")
        loaded = await asyncio.to_thread(subprocess.run, ["pg_restore", "--no-owner", "-d", new_dsn,
                                                          str(backup / "guichet.dump")], capture_output=True)
        assert loaded.returncode == 0, loaded.stderr
        restored = environment(fresh / "home", fresh / "keys", new_url, schema)
    else:
        (fresh / "home").mkdir()
        shutil.copy(backup / "guichet.db", fresh / "home" / "guichet.db")
        restored = environment(fresh / "home", fresh / "keys", f"sqlite+aiosqlite:///{fresh / 'home' / 'guichet.db'}",
                               None)
    try:
        assert cli(restored, "migrate").returncode == 0
        verified = cli(restored, "audit", "verify")
        assert verified.returncode == 0 and "intact" in verified.stdout, verified.stdout + verified.stderr
        assert await open_everything(restored) == await open_everything(source) > 0
        # the same database with another key store opens nothing: back them up together
        KeyStore(tmp_path / "other-keys").initialise()
        with pytest.raises((DecryptError, KeyStoreError)):
            await open_everything(dict(restored, GUICHET_KEYS_DIR=str(tmp_path / "other-keys")))
    finally:
        if restored_db:
            await _pg_admin(f'DROP DATABASE "{restored_db}" WITH (FORCE)')
