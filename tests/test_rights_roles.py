"""Rights by role over HTTP (HTML and JSON): for each role of the table and each action, a fresh request in the
role's reach, the action tried, the answer and the Task checked. The expectations are written out here, not read
from ``hub.rights``, so a change of the defaults has to change this file too."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from hub.accounts import add_user
from hub.core import Hub
from hub.inbox import threads
from hub.rights import DEFAULT_TABLE, RIGHTS, ROLES, RightsConfigError, RightsTable
from hub.store.models import Message, OutboxItem, Request
from tests.accounts_support import TOKEN, form_login, json_login
from tests.inbox_support import ADMIN, ANNE, PASSWORD, RPPS, TRI, new_request, place, practitioner, viewer

JULIE, NADIA, DIRECTION = "julie.faure@spsti-demo.fr", "nadia.blanc@spsti-demo.fr", "direction@spsti-demo.fr"
WHO = {"physician": ANNE, "nurse": JULIE, "assistant": NADIA, "coordinator": TRI, "admin": ADMIN,
       "direction": DIRECTION}
ACTIONS = ("view", "accept", "reply", "ask-info", "reassign", "reroute", "close-admin", "close-medical")
# what each role may do on a request of its reach (the physician's, in her team; triage for the coordinator)
ALLOWED = {
    "physician": set(ACTIONS),
    "nurse": set(ACTIONS) - {"close-medical"},
    "assistant": {"view", "accept", "ask-info", "reassign", "reroute", "close-admin"},
    "coordinator": {"view", "ask-info", "reassign", "reroute", "close-admin"},
    "admin": set(),
    "direction": set(),
}
NO_REACH = ("admin", "direction")  # they see no request at all: 404, as for a missing one
CLINICAL = "Douleurs lombaires, traitement morphinique."


async def _accounts(hub: Hub) -> None:
    async with hub.db.session() as session, session.begin():
        await add_user(session, JULIE, "nurse", PASSWORD, RPPS["julie"])
        await add_user(session, NADIA, "assistant", PASSWORD, "10000000124")
        await add_user(session, DIRECTION, "direction", PASSWORD)


async def _request_for(hub: Hub, role: str) -> tuple[str, str]:
    thread_id, task_id, _ = await new_request(hub, reason=CLINICAL, subject="Reprise")
    if role == "coordinator":
        await place(hub, task_id, in_triage=True)
    else:
        await place(hub, task_id, assigned_practitioner_id=(await practitioner(hub, "anne")).id)
    return thread_id, task_id


async def _state(hub: Hub, task_id: str) -> tuple[Any, ...]:
    async with hub.db.session() as session:
        return tuple((await session.execute(select(
            Request.status, Request.business_status, Request.assigned_practitioner_id, Request.assigned_team_id,
            Request.in_triage).where(Request.id == task_id))).one())


def _json_body(action: str) -> tuple[str, dict[str, Any]]:
    return {"view": ("", {}), "accept": ("accept", {}), "reply": ("reply", {"text": "Bien reçu."}),
            "ask-info": ("ask-info", {"text": "Le SIRET ?"}), "reassign": ("reassign", {"team": "pdp"}),
            "reroute": ("reroute", {}), "close-admin": ("close", {"outcome": "completed",
                                                                 "business_status": "transmitted"}),
            "close-medical": ("close", {"outcome": "completed", "business_status": "answered"})}[action]


def _form_body(action: str) -> tuple[str, dict[str, str]]:
    path, body = _json_body(action)
    if action == "reassign":
        return path, {"target": "team:pdp"}
    if path == "close":
        return path, {"outcome": f"{body['outcome']}:{body['business_status']}"}
    return path, body


async def _json_try(client: aiohttp.ClientSession, url: str, csrf: dict[str, str], thread_id: str,
                    action: str) -> tuple[int, str]:
    path, body = _json_body(action)
    if action == "view":
        answer = await client.get(f"{url}/api/threads/{thread_id}")
    else:
        answer = await client.post(f"{url}/api/threads/{thread_id}/{path}", json=body, headers=csrf)
    return answer.status, json.dumps(await answer.json(), ensure_ascii=False)


async def _form_open(client: aiohttp.ClientSession, url: str, thread_id: str) -> tuple[int, str, str]:
    page = await client.get(f"{url}/inbox/threads/{thread_id}")
    text = await page.text()
    token = TOKEN.search(text)
    return page.status, text, token.group(1) if token else ""


async def _form_post(client: aiohttp.ClientSession, url: str, thread_id: str, token: str, action: str
                     ) -> tuple[int, str]:
    path, body = _form_body(action)
    answer = await client.post(f"{url}/inbox/threads/{thread_id}/{path}", allow_redirects=False,
                               data={"csrf_token": token, **body})
    return answer.status, await answer.text()


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_and_action_over_json_and_html(demo_hub: Hub, start_server, role: str) -> None:
    await _accounts(demo_hub)
    srv = await start_server(demo_hub)
    json_client, csrf = await json_login(demo_hub, srv.url, WHO[role])
    html_client = await form_login(demo_hub, srv.url, WHO[role])
    async with json_client, html_client:
        for transport in ("json", "html"):
            for action in ACTIONS:
                thread_id, task_id = await _request_for(demo_hub, role)
                if transport == "json":
                    before = await _state(demo_hub, task_id)
                    code, text = await _json_try(json_client, srv.url, csrf, thread_id, action)
                else:  # as a person does: the thread page first (it marks the request received), then the form
                    code, text, token = await _form_open(html_client, srv.url, thread_id)
                    before = await _state(demo_hub, task_id)
                    if action != "view" and code == 200:
                        code, text = await _form_post(html_client, srv.url, thread_id, token, action)
                where = f"{role} {action} over {transport}: {code} {text[:200]}"
                if action in ALLOWED[role]:
                    assert code in (200, 303), where
                    if action not in ("view", "reroute"):
                        assert await _state(demo_hub, task_id) != before, where
                else:
                    assert code == (404 if role in NO_REACH else 403), where
                    assert await _state(demo_hub, task_id) == before, where
                    if role not in NO_REACH:
                        assert "Votre rôle" in text or "Action non permise" in text, where
                if action == "view" and action in ALLOWED[role]:
                    assert (CLINICAL in text) == (role != "assistant"), where


async def test_assistant_sees_the_administrative_part_only(demo_hub: Hub, start_server) -> None:
    await _accounts(demo_hub)
    from hub.intake import AttachmentDraft

    thread_id, task_id, _ = await new_request(demo_hub, family="Le Bihan", reason=CLINICAL, attachments=[
        AttachmentDraft("ordonnance.pdf", "application/pdf", b"%PDF secret")])
    await place(demo_hub, task_id, assigned_practitioner_id=(await practitioner(demo_hub, "anne")).id)
    nadia = await viewer(demo_hub, NADIA)
    view = await threads.open_thread(demo_hub, nadia, thread_id)
    assert view.payload["worker"]["family_name"] == "Le Bihan" and "reason" not in view.payload
    assert "cause" not in (view.payload.get("stoppage") or {})
    assert all(CLINICAL not in m.body and not m.attachments for m in view.messages)
    anne_view = await threads.open_thread(demo_hub, await viewer(demo_hub, ANNE), thread_id)
    attachment_id = anne_view.messages[0].attachments[0].id
    srv = await start_server(demo_hub)
    async with await form_login(demo_hub, srv.url, NADIA) as client:
        refused = await client.get(f"{srv.url}/inbox/attachments/{attachment_id}")
        assert refused.status == 403 and b"%PDF" not in await refused.read()
        html = await (await client.get(f"{srv.url}/inbox/threads/{thread_id}")).text()
        assert "Contenu clinique réservé à l'équipe médicale." in html and "ordonnance.pdf" not in html
        options = re.findall(r'<option value="(completed|rejected|cancelled):([a-z-]+)"', html)
        assert ("completed", "transmitted") in options and ("completed", "answered") not in options


async def test_an_outgoing_answer_says_who_wrote_it_and_in_what_role(demo_hub: Hub, start_server) -> None:
    await _accounts(demo_hub)
    anne_id = (await practitioner(demo_hub, "anne")).id
    # a verified sender of a domain allowed plain email (hub.trust): the answer leaves as an email we can read
    demo_hub.settings = demo_hub.settings.with_(plain_email_domains=("medecins-demo.fr",))
    srv = await start_server(demo_hub)
    for email, expected in ((JULIE, "Réponse de Julie Faure, infirmier·e en santé au travail, pour le Dr Anne "
                                    "Le Goff"),
                            (ANNE, "Réponse du Dr Anne Le Goff, médecin du travail")):
        thread_id, task_id, _ = await new_request(demo_hub)
        await place(demo_hub, task_id, assigned_practitioner_id=anne_id)
        client, csrf = await json_login(demo_hub, srv.url, email)
        async with client:
            answer = await client.post(f"{srv.url}/api/threads/{thread_id}/reply", json={"text": "Vu."},
                                       headers=csrf)
            assert answer.status == 200
        async with demo_hub.db.session() as session:
            rows = (await session.execute(select(OutboxItem).where(OutboxItem.thread_id == thread_id,
                                                                   OutboxItem.purpose == "reply"))).scalars().all()
            [payload] = [await demo_hub.outbox.payload(session, row) for row in rows]
            label = (await session.execute(select(Message.author_label).where(
                Message.thread_id == thread_id, Message.direction == "out"))).scalar_one()
        assert payload["subject"].endswith(expected) and f"{expected}." in payload["text"]
        assert "Réponse du médecin du travail" not in payload["subject"] + payload["text"]
        assert expected.endswith(label.split(", ", 1)[1]) or label in expected


def test_the_table_in_docs_is_the_table_in_code() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "inbox.md").read_text(encoding="utf-8")
    block = doc.split("<!-- rights-table: start -->")[1].split("<!-- rights-table: end -->")[0].strip()
    lines = [[c.strip() for c in line.strip("|").split("|")] for line in block.splitlines()]
    assert lines[0][1:] == list(ROLES)
    documented = {row[0].strip("`"): row[1:] for row in lines[2:]}
    for right in RIGHTS:
        assert [c == "✔" for c in documented[right]] == [right in DEFAULT_TABLE[r].rights for r in ROLES], right
    assert [c == "on" for c in documented["second factor (TOTP)"]] == [DEFAULT_TABLE[r].mfa for r in ROLES]


def test_guichet_toml_overrides_and_unknown_names_stop_the_start() -> None:
    table = RightsTable.from_config({"nurse": {"rights": ["see-requests", "close-medical"]}, "admin": {"mfa": True}})
    assert table.rights("nurse") == {"see-requests", "close-medical"} and table.needs_mfa("admin")
    assert table.rights("physician") == DEFAULT_TABLE["physician"].rights
    for bad, words in (({"chirurgien": {"mfa": True}}, "rôle inconnu « chirurgien »"),
                       ({"nurse": {"rights": ["prescribe"]}}, "droit ou action inconnu « prescribe »"),
                       ({"nurse": {"droits": []}}, "clé inconnue « droits »"),
                       ({"nurse": {"mfa": "oui"}}, "mfa doit valoir true ou false")):
        with pytest.raises(RightsConfigError, match=words):
            RightsTable.from_config(bad)


async def test_a_pdp_cell_member_acts_with_her_role_and_reads_what_the_cell_is_told(demo_hub: Hub,
                                                                                     start_server) -> None:
    from tests.inbox_support import CLAIRE, team_id

    thread_id, task_id, _ = await new_request(demo_hub, reason=CLINICAL)
    await place(demo_hub, task_id, assigned_practitioner_id=(await practitioner(demo_hub, "anne")).id,
                informed_team_id=await team_id(demo_hub, "NTS-PDP"))
    srv = await start_server(demo_hub)
    client, csrf = await json_login(demo_hub, srv.url, CLAIRE)  # a nurse of the PDP cell
    async with client:
        view = await client.get(f"{srv.url}/api/threads/{thread_id}")
        body = await view.json()
        assert view.status == 200 and body["access"] == "informed" and body["actions"] == []
        assert body["request"]["reason"] == CLINICAL  # her role reads clinical content
        before = await _state(demo_hub, task_id)
        for action in ("accept", "reply", "close-admin"):
            path, payload = _json_body(action)
            refused = await client.post(f"{srv.url}/api/threads/{thread_id}/{path}", json=payload, headers=csrf)
            assert refused.status == 403 and "seulement informée" in (await refused.json())["error"]
        assert await _state(demo_hub, task_id) == before
