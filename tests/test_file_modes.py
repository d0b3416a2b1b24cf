"""The data dir is 0700 and everything in it 0600 (database, WAL, checkpoints), even under a lax umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hub.hygiene import private_sqlite
from tests.conftest import backend


def test_guichet_init_makes_a_private_data_dir(tmp_path: Path) -> None:
    if backend() != "sqlite":
        pytest.skip("the database files are SQLite's")
    home = tmp_path / "home"
    env = dict(os.environ, GUICHET_HOME=str(home), GUICHET_KEYS_DIR=str(tmp_path / "keys"),
               GUICHET_CONFIG=str(tmp_path / "none.toml"))
    env.pop("GUICHET_DATABASE_URL", None)
    result = subprocess.run(["sh", "-c", f"umask 022 && exec {sys.executable} -m hub.cli init --demo"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    files = [p for p in home.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"guichet.db", "audit-checkpoint.json"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    for path in (tmp_path / "keys").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir(mode=0o755)
    db = folder / "guichet.db"
    db.write_bytes(b"")
    db.chmod(0o644)
    Path(f"{db}-wal").write_bytes(b"")
    Path(f"{db}-wal").chmod(0o644)
    private_sqlite(f"sqlite+aiosqlite:///{db}")
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(f"{db}-wal").stat().st_mode) == 0o600
