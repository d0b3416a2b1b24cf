"""Inbox login over the real server: sessions in the database, cookie flags, lockout, CSRF refusals, logout."""

from __future__ import annotations

import hashlib
import re

import aiohttp
from sqlalchemy import select
from yarl import URL

from hub.core import Hub
from hub.store.models import WebSession
from tests.accounts_support import otp_for
from tests.inbox_support import ANNE, PASSWORD, SOPHIE, new_request, place, practitioner, status_of


def _client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # keep cookies of 127.0.0.1


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _form_login(client: aiohttp.ClientSession, url: str, email: str, password: str, otp: str | None = None
                      ) -> aiohttp.ClientResponse:
    page = await client.get(f"{url}/inbox/login")
    token = TOKEN.search(await page.text())
    assert token is not None
    return await client.post(f"{url}/inbox/login", data={"email": email, "password": password, "otp": otp or "",
                                                         "csrf_token": token.group(1), "next": "/inbox"},
                             allow_redirects=False)


async def test_login_sets_a_hashed_session_and_a_safe_cookie(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    async with _client() as client:
        anonymous = await client.get(f"{srv.url}/inbox", allow_redirects=False)
        assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/inbox/login")
        response = await _form_login(client, srv.url, ANNE, PASSWORD, await otp_for(demo_hub, ANNE))
        assert response.status == 303 and response.headers["Location"] == "/inbox"
        cookie = next(v for v in response.headers.getall("Set-Cookie") if v.startswith("guichet_session="))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # no TLS here
        token = cookie.split(";")[0].split("=", 1)[1]
        page = await client.get(f"{srv.url}/inbox")
        assert page.status == 200 and "Dr Anne Le Goff" in await page.text()
        assert "style-src 'self'" in page.headers["Content-Security-Policy"]
    async with demo_hub.db.session() as session:
        rows = (await session.execute(select(WebSession))).scalars().all()
    assert [r.token_digest for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]


async def test_wrong_password_then_lockout_in_french(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    async with _client() as client:
        for _ in range(4):
            refused = await _form_login(client, srv.url, SOPHIE, "mauvais-mot-de-passe")
            assert refused.status == 401
            assert "Adresse électronique ou mot de passe incorrect." in await refused.text()
        locked = await _form_login(client, srv.url, SOPHIE, "mauvais-mot-de-passe")
        assert locked.status == 429
        assert "Compte temporairement bloqué, réessayez dans 15 minutes." in await locked.text()
        still = await _form_login(client, srv.url, SOPHIE, PASSWORD)  # even the right password
        assert still.status == 429 and "temporairement bloqué" in await still.text()
        api = await client.post(f"{srv.url}/api/login", json={"email": SOPHIE, "password": PASSWORD})
        assert api.status == 429 and "temporairement bloqué" in (await api.json())["error"]
        unknown = await _form_login(client, srv.url, "personne@spsti-demo.fr", PASSWORD)
        assert unknown.status == 401 and "incorrect" in await unknown.text()


async def test_csrf_is_required_on_every_post(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    thread_id, task_id, _ = await new_request(demo_hub)
    await place(demo_hub, task_id, assigned_practitioner_id=(await practitioner(demo_hub, "anne")).id)
    async with _client() as client:
        forged_login = await client.post(f"{srv.url}/inbox/login", allow_redirects=False,
                                         data={"email": ANNE, "password": PASSWORD, "csrf_token": "x"})
        assert forged_login.status == 403
        assert (await client.post(f"{srv.url}/api/login", data={"email": ANNE, "password": PASSWORD})).status == 415
        assert (await _form_login(client, srv.url, ANNE, PASSWORD, await otp_for(demo_hub, ANNE))).status == 303
        page = await client.get(f"{srv.url}/inbox/threads/{thread_id}")
        good = TOKEN.search(await page.text())
        assert good is not None
        url = f"{srv.url}/inbox/threads/{thread_id}/accept"
        assert (await client.post(url, data={}, allow_redirects=False)).status == 403
        assert (await client.post(url, data={"csrf_token": "forged"}, allow_redirects=False)).status == 403
        assert (await client.post(url, data={"csrf_token": good.group(1)}, allow_redirects=False,
                                  headers={"Origin": "https://evil.example"})).status == 403
        api = await client.post(f"{srv.url}/api/threads/{thread_id}/accept", json={})
        assert api.status == 403 and "X-CSRF-Token" in (await api.json())["error"]
        assert (await client.post(f"{srv.url}/inbox/logout", data={}, allow_redirects=False)).status == 403
        assert (await status_of(demo_hub, task_id))[0] == "received"  # opened, never accepted
        ok = await client.post(url, data={"csrf_token": good.group(1)}, allow_redirects=False)
        assert ok.status == 303 and (await status_of(demo_hub, task_id))[0] == "accepted"


async def test_logout_ends_the_session(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    async with _client() as client:
        login = await client.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD,
                                                                "otp": await otp_for(demo_hub, ANNE)})
        csrf = (await login.json())["csrf_token"]
        session_cookie = client.cookie_jar.filter_cookies(URL(srv.url))["guichet_session"].value
        assert (await client.get(f"{srv.url}/api/session")).status == 200
        out = await client.post(f"{srv.url}/api/logout", headers={"X-CSRF-Token": csrf})
        assert out.status == 200
    async with aiohttp.ClientSession() as replay:  # the old cookie, replayed, is worthless
        again = await replay.get(f"{srv.url}/api/session", headers={"Cookie": f"guichet_session={session_cookie}"})
        assert again.status == 401 and (await again.json())["error"] == "Connexion requise."
    async with demo_hub.db.session() as session:
        assert (await session.execute(select(WebSession))).scalars().all() == []


async def test_cookie_is_secure_when_published_over_https(demo_hub: Hub, start_server) -> None:
    demo_hub.settings = demo_hub.settings.with_(public_url="https://guichet.spsti-demo.fr")
    srv = await start_server(demo_hub)
    async with _client() as client:
        response = await client.post(f"{srv.url}/api/login", json={"email": ANNE, "password": PASSWORD,
                                                                   "otp": await otp_for(demo_hub, ANNE)})
        cookie = next(v for v in response.headers.getall("Set-Cookie") if v.startswith("guichet_session="))
    assert response.status == 200 and "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
