"""Paging reaches every request of a box, whether its rows come from one scope or from several (issue 15: each
branch of the listing union was limited to the page size, so a box fed by one branch never offered a next page).
Through the service, ``GET /api/inbox`` and the HTML inbox's « Page suivante » links."""

from __future__ import annotations

import html
import re

from sqlalchemy import update

from hub.core import Hub
from hub.inbox import boxes
from hub.store.models import Request
from tests.accounts_support import form_login, json_login
from tests.inbox_support import ANNE, new_request, place, practitioner, team_id, viewer

NEXT = re.compile(r'<a href="(/inbox\?box=todo&amp;cursor=[^"]+)">Page suivante</a>')
TASK = re.compile(r'href="/inbox/threads/([0-9a-f-]{36})"')


async def _fill(hub: Hub, n: int, places: list[dict[str, object]]) -> set[str]:
    """``n`` requests, the i-th placed as ``places[i % len(places)]``; their thread ids. The demo's own requests
    go to the triage queue first, so that the box holds exactly these."""
    async with hub.db.session() as session, session.begin():
        await session.execute(update(Request).values(assigned_practitioner_id=None, assigned_team_id=None,
                                                     informed_team_id=None, in_triage=True))
    made = set()
    for i in range(n):
        thread_id, task_id, _ = await new_request(hub, family=f"Page{i}", subject=f"Objet {i}")
        await place(hub, task_id, **places[i % len(places)])
        made.add(thread_id)
    return made


async def _service_pages(hub: Hub) -> list[list[str]]:
    anne, pages, cursor = await viewer(hub, ANNE), [], None
    while True:
        page, _ = await boxes.browse(hub, anne, "todo", limit=50, cursor=cursor)
        pages.append([i.thread_id for i in page.items])
        cursor = page.next_cursor
        if cursor is None:
            return pages


async def _api_pages(hub: Hub, url: str) -> list[list[str]]:
    client, _ = await json_login(hub, url, ANNE)
    pages: list[list[str]] = []
    async with client:
        params = {"box": "todo", "limit": "50"}
        while True:
            body = await (await client.get(f"{url}/api/inbox", params=params)).json()
            pages.append([i["id"] for i in body["items"]])
            if not body["next_cursor"]:
                return pages
            params["cursor"] = body["next_cursor"]


async def _html_pages(hub: Hub, url: str) -> list[list[str]]:
    client = await form_login(hub, url, ANNE)
    pages: list[list[str]] = []
    async with client:
        path = "/inbox?box=todo"
        while True:
            text = await (await client.get(f"{url}{path}")).text()
            pages.append(list(dict.fromkeys(TASK.findall(text))))
            link = NEXT.search(text)
            if link is None:
                return pages
            path = html.unescape(link.group(1))


def _check(pages: list[list[str]], made: set[str]) -> None:
    seen = [t for p in pages for t in p]
    assert len(seen) == len(set(seen)), "a request was listed twice"
    assert set(seen) == made, f"{len(made - set(seen))} request(s) never reached"
    assert [len(p) for p in pages[:-1]] == [50] * (len(pages) - 1) and 0 < len(pages[-1]) <= 50


async def test_120_requests_of_one_scope_are_all_reachable(demo_hub: Hub, start_server) -> None:
    anne_id = (await practitioner(demo_hub, "anne")).id
    made = await _fill(demo_hub, 120, [{"assigned_practitioner_id": anne_id}])
    srv = await start_server(demo_hub)
    for pages in (await _service_pages(demo_hub), await _api_pages(demo_hub, srv.url),
                  await _html_pages(demo_hub, srv.url)):
        assert len(pages) == 3
        _check(pages, made)


async def test_120_requests_of_mixed_scopes_are_all_reachable(demo_hub: Hub, start_server) -> None:
    anne_id, karim_id = (await practitioner(demo_hub, "anne")).id, (await practitioner(demo_hub, "karim")).id
    e1 = await team_id(demo_hub, "NTS-E1")
    made = await _fill(demo_hub, 120, [
        {"assigned_practitioner_id": anne_id}, {"assigned_practitioner_id": karim_id},  # her own, her delegation
        {"assigned_team_id": e1}, {"assigned_practitioner_id": anne_id, "assigned_team_id": e1},  # two scopes at once
        {"informed_team_id": e1}])
    srv = await start_server(demo_hub)
    for pages in (await _service_pages(demo_hub), await _api_pages(demo_hub, srv.url),
                  await _html_pages(demo_hub, srv.url)):
        _check(pages, made)
