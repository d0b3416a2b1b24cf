"""``guichet users list | disable | enable | revoke-sessions | mfa-reset`` end to end: real ``guichet`` processes on
the database a real server is using, and what a logged-in person sees next. Also: sessions end on inactivity and
on a password change, password rules, Argon2 off the event loop, a bad ``[roles]`` table stops the start-up."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import aiohttp
import pyotp
from sqlalchemy import update

from hub.core import Hub
from hub.store.models import WebSession, utcnow
from tests.accounts_support import client, json_login
from tests.conftest import cli_env
from tests.inbox_support import ANNE, PASSWORD

GUICHET = [sys.executable, "-m", "hub.cli"]


async def guichet(hub: Hub, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``guichet`` without blocking the loop (the server under test keeps answering, and committing)."""
    proc = await asyncio.create_subprocess_exec(*GUICHET, *args, env={**cli_env(hub.settings), **env},
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate((stdin or "").encode()), 120)
    assert proc.returncode is not None
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


async def _status(http: aiohttp.ClientSession, url: str) -> int:
    return (await http.get(f"{url}/api/session")).status


async def test_disable_enable_revoke_and_list(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    http, _ = await json_login(demo_hub, srv.url, ANNE)
    async with http:
        assert await _status(http, srv.url) == 200
        listing = await guichet(demo_hub, "users", "list")
        line = next(x for x in listing.stdout.splitlines() if x.startswith(ANNE))
        assert listing.returncode == 0 and "physician" in line and "actif" in line and line.split()[4] == "1"
        disabled = await guichet(demo_hub, "users", "disable", ANNE)
        assert disabled.returncode == 0 and "désactivé" in disabled.stdout
        assert await _status(http, srv.url) == 401  # the very next request
        assert "désactivé" in (await guichet(demo_hub, "users", "list")).stdout
    async with client() as again:
        refused = await again.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD})
        assert refused.status == 401
    assert (await guichet(demo_hub, "users", "enable", ANNE)).returncode == 0
    http, _ = await json_login(demo_hub, srv.url, ANNE)
    async with http:
        assert await _status(http, srv.url) == 200
        revoked = await guichet(demo_hub, "users", "revoke-sessions", ANNE)
        assert revoked.returncode == 0 and "1 session(s)" in revoked.stdout
        assert await _status(http, srv.url) == 401
    unknown = await guichet(demo_hub, "users", "disable", "personne@spsti-demo.fr")
    assert unknown.returncode == 1 and "aucun compte" in unknown.stderr


async def test_mfa_reset_prints_a_uri_that_logs_in(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    http, _ = await json_login(demo_hub, srv.url, ANNE)  # enrolled, logged in
    async with http:
        reset = await guichet(demo_hub, "users", "mfa-reset", ANNE)
        assert reset.returncode == 0, reset.stderr
        uri = reset.stdout.strip().splitlines()[-1]
        assert uri.startswith("otpauth://totp/") and "secret=" in uri
        assert await _status(http, srv.url) == 401  # resetting the factor ends every session
    async with client() as fresh:
        login = await fresh.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD,
                                                               "otp": pyotp.parse_uri(uri).now()})
        body = await login.json()
        assert login.status == 200 and body["stage"] == "full" and len(body["recovery_codes"]) == 10


async def test_password_change_ends_sessions_and_password_rules(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    http, _ = await json_login(demo_hub, srv.url, ANNE)
    async with http:
        for bad, words in (("Anne.LeGoff-2026", "ne doit pas contenir"), ("legoff-et-la-mer", "ne doit pas contenir"),
                           ("court", "trop court")):
            refused = await guichet(demo_hub, "users", "add", ANNE, "--role", "physician", "--rpps", "10000000017",
                              "--password-stdin", stdin=f"{bad}\n")
            assert refused.returncode == 1 and words in refused.stderr, refused.stderr
        assert await _status(http, srv.url) == 200  # a refused change changes nothing
        changed = await guichet(demo_hub, "users", "add", ANNE, "--role", "physician", "--rpps", "10000000017",
                          "--password-stdin", stdin="un-tout-nouveau-secret\n")
        assert changed.returncode == 0, changed.stderr
        assert await _status(http, srv.url) == 401
    json_client, _ = await json_login(demo_hub, srv.url, ANNE, "un-tout-nouveau-secret")
    await json_client.close()


async def test_a_session_ends_after_30_idle_minutes(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    http, _ = await json_login(demo_hub, srv.url, ANNE)
    async with http:
        async with demo_hub.db.session() as session, session.begin():
            await session.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=29)))
        assert await _status(http, srv.url) == 200  # active within the window: it is noted again
        async with demo_hub.db.session() as session, session.begin():
            await session.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
        assert await _status(http, srv.url) == 401
    http, _ = await json_login(demo_hub, srv.url, ANNE)
    async with http:  # the absolute lifetime holds however active the session is
        async with demo_hub.db.session() as session, session.begin():
            await session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        assert await _status(http, srv.url) == 401


async def test_argon2_runs_off_the_event_loop(demo_hub: Hub, start_server, monkeypatch) -> None:
    import hub.web.auth as auth

    threads: list[str] = []
    real = auth.verify_password

    def spy(stored: str, password: str) -> bool:
        threads.append(threading.current_thread().name)
        return real(stored, password)

    monkeypatch.setattr(auth, "verify_password", spy)
    srv = await start_server(demo_hub)
    http, _ = await json_login(demo_hub, srv.url, ANNE)
    await http.close()
    assert threads and threading.main_thread().name not in threads


async def test_an_unknown_role_or_right_stops_the_start(hub: Hub, tmp_path: Path) -> None:
    config = tmp_path / "guichet.toml"
    config.write_text('[roles.nurse]\nrights = ["see-requests", "prescribe"]\n', encoding="utf-8")
    serve = await guichet(hub, "serve", "--role", "api", GUICHET_CONFIG=str(config))
    assert serve.returncode == 2 and "droit ou action inconnu « prescribe »" in serve.stderr
    config.write_text("[roles.chirurgien]\nmfa = true\n", encoding="utf-8")
    serve = await guichet(hub, "users", "list", GUICHET_CONFIG=str(config))
    assert serve.returncode == 2 and "rôle inconnu « chirurgien »" in serve.stderr
