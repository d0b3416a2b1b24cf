"""The inbox's JSON mirror over the real server (demo SPSTI): listing, thread, actions, errors."""

from __future__ import annotations

import aiohttp

from hub.core import Hub
from tests.accounts_support import json_login
from tests.inbox_support import ANNE, RPPS, SOPHIE, new_request, place, practitioner, status_of

ITEM_KEYS = {"id", "task_id", "reference", "event", "status", "subject", "requester", "employer_siret",
             "routed_by", "created"}


async def _login(hub: Hub, url: str, email: str) -> tuple[aiohttp.ClientSession, dict[str, str]]:
    return await json_login(hub, url, email)  # password and second factor


async def test_json_inbox_thread_and_actions(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    anne_id = (await practitioner(demo_hub, "anne")).id
    made = []
    for i in range(3):
        thread_id, task_id, reference = await new_request(demo_hub, family=f"Api{i}", subject=f"Objet {i}",
                                                          siret="04423065100018")
        await place(demo_hub, task_id, assigned_practitioner_id=anne_id)
        made.append((thread_id, task_id, reference))
    client, csrf = await _login(srv.hub, srv.url, ANNE)
    async with client:
        assert (await client.get(f"{srv.url}/api/inbox?box=todo&limit=abc")).status == 400
        bad_box = await client.get(f"{srv.url}/api/inbox?box=spam")
        assert bad_box.status == 400 and "Boîte inconnue" in (await bad_box.json())["error"]
        first = await (await client.get(f"{srv.url}/api/inbox?box=todo&limit=2")).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        assert ITEM_KEYS <= set(first["items"][0])
        newest = first["items"][0]
        assert (newest["id"], newest["task_id"], newest["reference"]) == made[-1]
        assert newest["subject"] == "Objet 2" and newest["status"] == "requested"
        assert newest["employer_siret"] == "04423065100018" and newest["requester"] == "gp"
        second = await (await client.get(f"{srv.url}/api/inbox",
                                         params={"box": "todo", "limit": "2", "cursor": first["next_cursor"]})).json()
        assert not {i["id"] for i in second["items"]} & {i["id"] for i in first["items"]}
        thread_id, task_id, _ = made[0]
        thread = await client.get(f"{srv.url}/api/threads/{thread_id}")
        body = await thread.json()
        assert thread.status == 200 and body["task_id"] == task_id and body["status"] == "received"
        assert body["request"]["worker"]["family_name"] == "Api0" and body["routing"]["explanation"]
        assert "reply" in body["actions"]
        reply = await client.post(f"{srv.url}/api/threads/{thread_id}/reply", json={"text": "Bien reçu."},
                                  headers=csrf)
        assert reply.status == 200 and (await reply.json())["status"] == "in-progress"
        closed = await client.post(f"{srv.url}/api/threads/{thread_id}/close", headers=csrf,
                                   json={"outcome": "completed", "business_status": "answered"})
        assert (await closed.json())["status"] == "completed"
        late = await client.post(f"{srv.url}/api/threads/{thread_id}/reply", json={"text": "?"}, headers=csrf)
        assert late.status == 409 and "close" in (await late.json())["error"]
        ask = await client.post(f"{srv.url}/api/threads/{made[1][0]}/ask-info", json={"text": "Le SIRET ?"},
                                headers=csrf)
        assert (await ask.json())["business_status"] == "waiting-for-sender"
        waiting = await (await client.get(f"{srv.url}/api/inbox?box=waiting")).json()
        assert [i["id"] for i in waiting["items"]] == [made[1][0]]
        moved = await client.post(f"{srv.url}/api/threads/{made[2][0]}/reassign", headers=csrf,
                                  json={"practitioner_rpps": RPPS["sophie"]})
        assert moved.status == 200
        gone = await client.get(f"{srv.url}/api/threads/{made[2][0]}")
        assert gone.status == 404 and (await gone.json()) == {"error": "Demande introuvable."}
        empty = await client.post(f"{srv.url}/api/threads/{made[1][0]}/reply", json={"text": ""}, headers=csrf)
        assert empty.status == 400 and "vide" in (await empty.json())["error"]
        found = await (await client.get(f"{srv.url}/api/search", params={"q": "api1"})).json()
        assert [i["id"] for i in found["items"]] == [made[1][0]]
    assert await status_of(demo_hub, made[2][1]) == ("requested", None)  # reassigned unread
    other, _ = await _login(srv.hub, srv.url, SOPHIE)
    async with other:
        assert (await other.get(f"{srv.url}/api/threads/{made[2][0]}")).status == 200
        hidden = await other.get(f"{srv.url}/api/threads/{made[1][0]}")
        assert hidden.status == 404
    assert await status_of(demo_hub, made[2][1]) == ("received", None)  # the new owner opened it
    async with aiohttp.ClientSession() as anonymous:
        assert (await anonymous.get(f"{srv.url}/api/inbox")).status == 401
