"""The inbox's HTML pages over the real server, without a browser: what each kind of user is shown, downloads,
refusals shown in French on the page."""

from __future__ import annotations

import re

import aiohttp
from sqlalchemy import select

from hub.core import Hub
from hub.intake import AttachmentDraft
from hub.store.models import AuditEvent
from tests.accounts_support import form_login
from tests.inbox_support import ADMIN, ANNE, SOPHIE, TRI, new_request, place, practitioner

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _logged_in(hub: Hub, url: str, email: str) -> aiohttp.ClientSession:
    return await form_login(hub, url, email)  # password and second factor


async def test_pages_for_each_kind_of_user(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    thread_id, task_id, reference = await new_request(
        demo_hub, family="Le Bihan", subject="Reprise à mi-temps",
        attachments=[AttachmentDraft("arret.pdf", "application/pdf", b"%PDF arret")])
    await place(demo_hub, task_id, assigned_practitioner_id=(await practitioner(demo_hub, "anne")).id)
    async with await _logged_in(srv.hub, srv.url, ANNE) as anne:
        page = await anne.get(f"{srv.url}/inbox")
        html = await page.text()
        assert page.status == 200 and '<html lang="fr">' in html and "À traiter" in html
        assert reference in html and "Reprise à mi-temps" in html and "non lu" in html
        assert "File de tri" not in html.split("<main")[0]  # no triage tab for a physician
        css = await anne.get(f"{srv.url}/static/inbox.css")
        assert css.status == 200 and css.content_type == "text/css"
        thread = await (await anne.get(f"{srv.url}/inbox/threads/{thread_id}")).text()
        link = re.search(r'href="(/inbox/attachments/[^"]+)">arret\.pdf<', thread)
        assert link is not None and "Le Bihan" in thread
        download = await anne.get(f"{srv.url}{link.group(1)}")
        assert download.status == 200 and await download.read() == b"%PDF arret"
        assert "attachment" in download.headers["Content-Disposition"]
        found = await (await anne.get(f"{srv.url}/inbox/search", params={"q": "le bihan"})).text()
        assert reference in found
        token = TOKEN.search(thread)
        assert token is not None
        closed = await anne.post(f"{srv.url}/inbox/threads/{thread_id}/close", allow_redirects=False,
                                 data={"csrf_token": token.group(1), "outcome": "rejected:out-of-scope"})
        assert closed.status == 303
        late = await anne.post(f"{srv.url}/inbox/threads/{thread_id}/reply",
                               data={"csrf_token": token.group(1), "text": "Encore ?"})
        assert late.status == 409
        assert "Impossible de répondre à cette demande : la demande est close (refusée)." in await late.text()
    async with await _logged_in(srv.hub, srv.url, SOPHIE) as sophie:
        assert (await sophie.get(f"{srv.url}{link.group(1)}")).status == 404
        assert reference not in await (await sophie.get(f"{srv.url}/inbox/search",
                                                        params={"q": "le bihan"})).text()
    async with await _logged_in(srv.hub, srv.url, TRI) as tri:
        triage = await (await tri.get(f"{srv.url}/inbox")).text()
        assert "<h1>File de tri</h1>" in triage
    async with await _logged_in(srv.hub, srv.url, ADMIN) as admin:
        assert "aucun contenu clinique" in await (await admin.get(f"{srv.url}/inbox")).text()
        assert (await admin.get(f"{srv.url}/inbox/threads/{thread_id}")).status == 404
    async with demo_hub.db.session() as session:
        downloads = (await session.execute(select(AuditEvent.outcome, AuditEvent.actor).where(
            AuditEvent.entity_type == "Attachment"))).all()
    assert [d.outcome for d in downloads if ANNE in d.actor] == ["success"]
