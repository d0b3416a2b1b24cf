"""The indicators page in headless Chromium: the direction logs in, lands on the page it asked for, picks a
period; the page passes axe (no serious or critical violation), breaks no CSP rule, runs no script."""

from __future__ import annotations

import os
from typing import cast

import pytest
from playwright.async_api import Page

from hub.core import Hub
from tests.browser import axe_violations, chromium_page, needs_chromium
from tests.inbox_support import PASSWORD
from tests.indicators_support import load_march_2026

pytestmark = [pytest.mark.browser, needs_chromium]


async def test_direction_reads_the_indicators(demo_hub: Hub, start_server) -> None:
    await load_march_2026(demo_hub)
    srv = await start_server(demo_hub)
    problems: list[str] = []
    async with chromium_page() as raw:
        page = cast(Page, raw)
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        await page.goto(f"{srv.url}/indicateurs?month=2026-03&by=channel")
        assert "/inbox/login" in page.url
        await page.get_by_label("Adresse électronique").fill("direction@spsti-demo.fr")
        await page.get_by_label("Mot de passe").fill(PASSWORD)
        await page.get_by_role("button", name="Se connecter").click()
        await page.wait_for_url(f"{srv.url}/indicateurs?month=2026-03&by=channel")
        assert await page.locator("h1").inner_text() == "Indicateurs du partenariat : mars 2026"
        assert await page.locator("svg[role=img]").count() == 5
        assert await axe_violations(page) == []
        # the picker: two dates and a breakdown, sent as a plain GET form
        await page.get_by_label("Du", exact=True).fill("2026-03-01")
        await page.get_by_label("Au (inclus)", exact=True).fill("2026-03-31")
        await page.get_by_label("Regrouper par").select_option("team")
        await page.get_by_role("button", name="Afficher").click()
        await page.wait_for_url(f"{srv.url}/indicateurs?from=2026-03-01&to=2026-03-31&by=team&gp=")
        first_table = page.locator("table.figures").first
        assert "Équipe A" in await first_table.inner_text()
        assert "< 5" in await first_table.inner_text()
        assert await axe_violations(page) == []
        if os.environ.get("GUICHET_SCREENSHOTS"):
            await page.screenshot(path=os.path.join(os.environ["GUICHET_SCREENSHOTS"], "indicators.png"),
                                  full_page=True)
        assert await page.evaluate("document.scripts.length") == 0
    assert not [p for p in problems if "Content Security Policy" in p], problems


async def test_a_gp_reads_their_own_figures(demo_hub: Hub, start_server) -> None:
    """The GP's pages (ask, link, figures) pass axe and run no script."""
    import re

    from tests.indicators_support import GP_RPPS
    from tests.test_indicators_gp import _links

    await load_march_2026(demo_hub)
    srv = await start_server(demo_hub)
    async with chromium_page() as raw:
        page = cast(Page, raw)
        await page.goto(f"{srv.url}/indicateurs/medecin")
        assert await axe_violations(page) == []
        await page.get_by_label("Numéro RPPS (11 chiffres)").fill(GP_RPPS)
        await page.get_by_role("button", name="Recevoir le lien").click()
        await page.get_by_role("status").wait_for()
        assert await axe_violations(page) == []
        [link] = await _links(demo_hub)
        token = re.search(r"/indicateurs/medecin/([A-Za-z0-9_-]{40,})", link["text"])[1]  # type: ignore[index]
        await page.goto(f"{srv.url}/indicateurs/medecin/{token}")
        await page.get_by_label("Du", exact=True).fill("2026-03-01")
        await page.get_by_label("Au (inclus)", exact=True).fill("2026-03-31")
        assert await axe_violations(page) == []
        await page.get_by_role("button", name="Afficher mes indicateurs").click()
        await page.locator("h1", has_text="Vos indicateurs de médecin : mars 2026").wait_for()
        assert await page.locator("svg[role=img]").count() == 4
        assert await axe_violations(page) == []
        assert await page.evaluate("document.scripts.length") == 0
