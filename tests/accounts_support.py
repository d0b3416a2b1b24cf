"""Logging a test user in over HTTP, the way a person does (password, then the second factor when the role has one).

``await json_login(hub, url, email)`` returns ``(client, csrf_headers)``; ``await form_login(hub, url, email)``
returns a client whose cookie jar holds the HTML session.
"""

from __future__ import annotations

import re

import aiohttp

from hub.core import Hub
from tests.inbox_support import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # keep cookies of 127.0.0.1


async def json_login(hub: Hub, url: str, email: str, password: str = PASSWORD
                     ) -> tuple[aiohttp.ClientSession, dict[str, str]]:
    session = client()
    response = await session.post(f"{url}/api/login", json={"email": email, "password": password})
    assert response.status == 200, await response.text()
    return session, {"X-CSRF-Token": (await response.json())["csrf_token"]}


async def form_login(hub: Hub, url: str, email: str, password: str = PASSWORD) -> aiohttp.ClientSession:
    session = client()
    page = await session.get(f"{url}/inbox/login")
    token = TOKEN.search(await page.text())
    assert token is not None
    done = await session.post(f"{url}/inbox/login", allow_redirects=False,
                              data={"email": email, "password": password, "csrf_token": token.group(1)})
    assert done.status == 303, await done.text()
    return session
