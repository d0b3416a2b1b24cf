"""The `guichet` command as an administrator uses it: real processes, real database, real key store."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hub.demo import DEMO_TEXTS, DEMO_WORKERS
from tests.conftest import backend

GUICHET = [sys.executable, "-m", "hub.cli"]


@pytest.fixture
def env(tmp_path: Path, database: tuple[str, str | None]) -> dict[str, str]:
    url, schema = database
    values = dict(os.environ)
    values.update({"GUICHET_HOME": str(tmp_path / "home"), "GUICHET_KEYS_DIR": str(tmp_path / "keys"),
                   "GUICHET_DATABASE_URL": url, "GUICHET_CONFIG": str(tmp_path / "none.toml")})
    if schema:
        values["GUICHET_DATABASE_SCHEMA"] = schema
    return values


def guichet(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GUICHET, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_help_is_french() -> None:
    out = subprocess.run([*GUICHET, "directory", "import", "--help"], capture_output=True, text=True).stdout
    assert "clé de Luhn" in out and "--skip-invalid" in out


def test_init_demo_generates_private_keys_and_prints_logins(env: dict[str, str], tmp_path: Path) -> None:
    result = guichet(env, "init", "--demo")
    assert result.returncode == 0, result.stderr
    assert "anne.legoff@spsti-demo.fr" in result.stdout and "guichet-demo-2026" in result.stdout
    assert "/saisine-pdp" in result.stdout
    assert "code QR" in result.stdout and "mfa-reset" in result.stdout  # how a human gets past the second factor
    keys = tmp_path / "keys"
    for path in [*keys.glob("kek-*.key"), keys / "index.key", keys / "token-signing.pem"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    before = sorted(p.read_bytes() for p in keys.iterdir())
    again = guichet(env, "init")
    assert again.returncode == 0 and "clés existantes conservées" in again.stdout
    assert sorted(p.read_bytes() for p in keys.iterdir()) == before


def test_dump_of_demo_database_has_no_plaintext_health_data(env: dict[str, str], tmp_path: Path) -> None:
    assert guichet(env, "init", "--demo").returncode == 0
    if backend() == "postgresql":
        dsn = env["GUICHET_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
        dump = subprocess.run(["pg_dump", "--no-owner", "-n", env["GUICHET_DATABASE_SCHEMA"], dsn],
                              capture_output=True, timeout=120)
    else:
        db_file = env["GUICHET_DATABASE_URL"].split("///", 1)[1]
        dump = subprocess.run(["sqlite3", db_file, ".dump"], capture_output=True, timeout=120)
    assert dump.returncode == 0, dump.stderr
    text = dump.stdout.decode("utf-8", "replace")
    assert "04423065100018" in text  # the dump is real: the (non-health) directory is there
    secrets = [w.family_name for w in DEMO_WORKERS] + [w.given_names for w in DEMO_WORKERS]
    secrets += [w.ins for w in DEMO_WORKERS if w.ins] + [t[:40] for t in DEMO_TEXTS] + ["lombalgie", "épaule"]
    leaked = [s for s in secrets if s in text or s.upper() in text]
    assert leaked == []


def test_audit_verify_names_the_tampered_row(env: dict[str, str]) -> None:
    assert guichet(env, "init", "--demo").returncode == 0
    ok = guichet(env, "audit", "verify")
    assert ok.returncode == 0 and "intact" in ok.stdout
    sql = "UPDATE audit_events SET outcome = 'failure' WHERE seq = 3"
    if backend() == "postgresql":
        dsn = env["GUICHET_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
        subprocess.run(["psql", dsn, "-q", "-c", f'SET search_path TO "{env["GUICHET_DATABASE_SCHEMA"]}"; {sql}'],
                       check=True, capture_output=True)
    else:
        subprocess.run(["sqlite3", env["GUICHET_DATABASE_URL"].split("///", 1)[1], sql], check=True)
    bad = guichet(env, "audit", "verify")
    assert bad.returncode == 1
    assert "entrée n° 3 modifiée" in bad.stdout


def test_keys_rotate_rewraps_and_data_stays_readable(env: dict[str, str], tmp_path: Path) -> None:
    assert guichet(env, "init", "--demo").returncode == 0
    old = (tmp_path / "keys" / "active-kek").read_text().strip()
    rotated = guichet(env, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert f"Ancienne clé {old} supprimée" in rotated.stdout
    assert not (tmp_path / "keys" / f"kek-{old}.key").exists()
    listed = guichet(env, "keys", "list").stdout.strip().splitlines()
    assert len(listed) == 1 and "(active)" in listed[0] and old not in listed[0]
    assert guichet(env, "audit", "verify").returncode == 0


def test_users_add_links_practitioner_and_refuses_bad_input(env: dict[str, str]) -> None:
    assert guichet(env, "init", "--demo").returncode == 0
    ok = guichet(env, "users", "add", "new.doc@spsti-demo.fr", "--role", "physician", "--rpps", "10000000066",
                 "--password-stdin", stdin="un-mot-de-passe-long\n")
    assert ok.returncode == 0, ok.stderr
    unknown = guichet(env, "users", "add", "x@spsti-demo.fr", "--role", "physician", "--rpps", "10000000108",
                      "--password-stdin", stdin="un-mot-de-passe-long\n")
    assert unknown.returncode == 0  # the coordinator of the directory exists as a practitioner
    missing = guichet(env, "users", "add", "y@spsti-demo.fr", "--role", "physician", "--rpps", "19999999999",
                      "--password-stdin", stdin="un-mot-de-passe-long\n")
    assert missing.returncode == 1 and "aucun praticien de RPPS 19999999999" in missing.stderr
    short = guichet(env, "users", "add", "z@spsti-demo.fr", "--role", "admin", "--password-stdin", stdin="court\n")
    assert short.returncode == 1 and "trop court" in short.stderr


def test_serve_answers_health_and_readiness(env: dict[str, str]) -> None:
    assert guichet(env, "init").returncode == 0
    port = free_port()
    env = {**env, "GUICHET_HTTP_PORT": str(port), "GUICHET_SMTP_PORT": str(free_port())}
    proc = subprocess.Popen([*GUICHET, "serve", "--role", "api"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:  # noqa: S310
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "server did not become ready"
                time.sleep(0.2)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out
    assert proc.returncode == 0


def test_serve_refuses_unmigrated_database(env: dict[str, str], tmp_path: Path) -> None:
    from hub.crypto.keystore import KeyStore

    KeyStore(tmp_path / "keys").initialise()
    result = guichet(env, "serve")
    assert result.returncode == 1 and "guichet migrate" in result.stderr
