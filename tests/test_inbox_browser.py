"""End to end in headless Chromium: a physician logs in, opens a routed request, replies, sees the status change;
another team's thread opened by URL is a 404; the pages pass axe (serious/critical) and break no CSP rule."""

from __future__ import annotations

import os
from typing import cast

import pytest
from playwright.async_api import Page
from sqlalchemy import select

from hub.core import Hub
from hub.store.models import Request, Thread
from tests.accounts_support import otp_for
from tests.browser import AXE, chromium_page, needs_chromium
from tests.inbox_support import ANNE, PASSWORD, status_of

pytestmark = [pytest.mark.browser, needs_chromium]


async def axe_violations(page: object) -> list[dict]:
    """axe-core run through DevTools evaluation: the page's CSP (no inline script) forbids a script tag."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: run `npm install axe-core`")
    await page.evaluate(AXE.read_text() + "\n;true")  # type: ignore[attr-defined]
    result = await page.evaluate(  # type: ignore[attr-defined]
        "async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]


async def _thread_of(hub: Hub, source_key: str) -> tuple[str, str, str]:
    async with hub.db.session() as session:
        row = (await session.execute(select(Thread.id, Thread.reference, Request.id).join(
            Request, Request.thread_id == Thread.id).where(Request.source_key == source_key))).one()
    return row[0], row[1], row[2]


async def test_physician_replies_in_the_browser(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    mine, reference, task_id = await _thread_of(demo_hub, "demo:1")  # routed to Dr Le Goff by its SIRET
    others, _, _ = await _thread_of(demo_hub, "demo:2")  # the intérim team's
    problems: list[str] = []
    async with chromium_page() as raw:
        page = cast(Page, raw)
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        await page.goto(f"{srv.url}/inbox")
        assert "/inbox/login" in page.url
        await page.get_by_label("Adresse électronique").fill(ANNE)
        await page.get_by_label("Mot de passe").fill(PASSWORD)
        await page.get_by_label("Code de vérification").fill(await otp_for(demo_hub, ANNE) or "")
        await page.get_by_role("button", name="Se connecter").click()
        await page.wait_for_url(f"{srv.url}/inbox")
        assert await axe_violations(page) == []
        await page.get_by_role("link", name=reference).click()
        await page.wait_for_url(f"{srv.url}/inbox/threads/{mine}")
        assert await page.locator("#statut").inner_text() == "Reçue"
        body = await page.locator("main").inner_text()
        assert "Kerbrat" in body and "04423065100018" in body and "lombalgie chronique" in body
        assert "Boulangerie du Port" in body  # the routing explanation names the employer
        assert await axe_violations(page) == []
        await page.get_by_label("Répondre à l'expéditeur").fill("Je reçois M. Kerbrat en visite de pré-reprise.")
        await page.get_by_role("button", name="Envoyer la réponse").click()
        await page.wait_for_url(f"{srv.url}/inbox/threads/{mine}?fait=reply")
        assert await page.locator("#statut").inner_text() == "En cours"
        assert "Réponse envoyée" in await page.locator(".notice").inner_text()
        assert "visite de pré-reprise" in await page.locator(".history").inner_text()
        if os.environ.get("GUICHET_SCREENSHOTS"):
            await page.screenshot(path=os.path.join(os.environ["GUICHET_SCREENSHOTS"], "thread.png"), full_page=True)
        response = await page.goto(f"{srv.url}/inbox/threads/{others}")
        assert response is not None and response.status == 404
        assert "Demande introuvable" in await page.locator("h1").inner_text()
        assert "Guénolé" not in await page.content()
    assert await status_of(demo_hub, task_id) == ("in-progress", None)
    assert not [p for p in problems if "Content Security Policy" in p], problems
