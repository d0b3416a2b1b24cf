"""Logging a test user in over HTTP the way a person does: the password, then the code their phone shows.

``await otp_for(hub, email)`` is that code (``None`` for a role without a second factor). An account with no
factor yet is enrolled first through the administrator's path (``hub.account_admin.mfa_reset``, then the first
code confirms it), so tests that are not about enrolment start from an enrolled account. The replay mark (the
last time step used) is cleared, so one test may log the same person in several times within 30 seconds.
``await json_login(hub, url, email)`` returns ``(client, csrf_headers)``; ``await form_login(hub, url, email)`` a
client whose cookie jar holds the HTML session.
"""

from __future__ import annotations

import re

import aiohttp
import pyotp
from sqlalchemy import select

from hub import mfa
from hub.account_admin import mfa_reset
from hub.audit import Actor
from hub.core import Hub
from hub.store.models import User, utcnow
from tests.inbox_support import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # keep cookies of 127.0.0.1


async def otp_for(hub: Hub, email: str) -> str | None:
    async with hub.db.session() as session, session.begin():
        user = (await session.execute(select(User).where(User.email == email))).scalar_one()
        if not hub.rights.needs_mfa(user.role):
            return None
        enrolled = mfa.enrolled(user)
    if not enrolled:
        uri = await mfa_reset(hub, email, Actor("test", "test"))
        async with hub.db.session() as session, session.begin():
            user = (await session.execute(select(User).where(User.email == email))).scalar_one()
            assert await mfa.confirm(hub, session, user, pyotp.parse_uri(uri).now(), utcnow()) is not None
    async with hub.db.session() as session, session.begin():
        user = (await session.execute(select(User).where(User.email == email))).scalar_one()
        secret = await mfa.stored_secret(hub, session, user)
        user.totp_last_step = None
    assert secret is not None
    return pyotp.TOTP(secret).now()


async def json_login(hub: Hub, url: str, email: str, password: str = PASSWORD
                     ) -> tuple[aiohttp.ClientSession, dict[str, str]]:
    session = client()
    response = await session.post(f"{url}/api/login", json={"email": email, "password": password,
                                                            "otp": await otp_for(hub, email)})
    assert response.status == 200, await response.text()
    return session, {"X-CSRF-Token": (await response.json())["csrf_token"]}


async def form_login(hub: Hub, url: str, email: str, password: str = PASSWORD) -> aiohttp.ClientSession:
    session = client()
    page = await session.get(f"{url}/inbox/login")
    token = TOKEN.search(await page.text())
    assert token is not None
    done = await session.post(f"{url}/inbox/login", allow_redirects=False,
                              data={"email": email, "password": password, "otp": await otp_for(hub, email) or "",
                                    "csrf_token": token.group(1)})
    assert done.status == 303, await done.text()
    return session
