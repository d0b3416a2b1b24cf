"""The second factor in headless Chromium, as a physician meets it: first login without a code, the QR code page,
the first code, the recovery codes, the inbox; log out; log in again with a code. Each page passes axe (no serious
or critical violation) and breaks no CSP rule (the QR code is inline SVG, drawn on the server)."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import cast

import pyotp
import pytest
from playwright.async_api import Page

from hub.core import Hub
from hub.store.models import utcnow
from tests.browser import axe_violations, chromium_page, needs_chromium
from tests.inbox_support import ANNE, PASSWORD

pytestmark = [pytest.mark.browser, needs_chromium]


async def _shot(page: Page, name: str) -> None:
    if os.environ.get("GUICHET_SCREENSHOTS"):
        await page.screenshot(path=os.path.join(os.environ["GUICHET_SCREENSHOTS"], name), full_page=True)


async def test_enrol_log_out_and_log_in_with_a_code(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    problems: list[str] = []
    async with chromium_page() as raw:
        page = cast(Page, raw)
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        await page.goto(f"{srv.url}/inbox")
        assert "/inbox/login" in page.url
        assert await axe_violations(page) == []
        await page.get_by_label("Adresse électronique").fill(ANNE)
        await page.get_by_label("Mot de passe").fill(PASSWORD)
        await page.get_by_role("button", name="Se connecter").click()  # first login: no code yet
        await page.wait_for_url(f"{srv.url}/inbox/mfa")
        assert await page.locator("figure.qr-box svg").count() == 1
        assert await page.get_by_role("img", name="Code QR du second facteur de anne.legoff@spsti-demo.fr").count()
        assert await axe_violations(page) == []
        await _shot(page, "mfa-enrol.png")
        secret = (await page.locator("#cle").inner_text()).replace(" ", "")
        totp = pyotp.TOTP(secret)
        await page.get_by_label("Code affiché par l'application").fill(totp.now())
        await page.get_by_role("button", name="Activer").click()
        await page.get_by_role("heading", name="Double authentification activée").wait_for()
        codes = await page.get_by_role("list", name="Codes de secours").locator("code").all_inner_texts()
        assert len(codes) == 10 and len(set(codes)) == 10
        assert await axe_violations(page) == []
        await _shot(page, "mfa-recovery.png")
        await page.get_by_role("link", name="Continuer vers la boîte de réception").click()
        await page.wait_for_url(f"{srv.url}/inbox")
        assert "Dr Anne Le Goff" in await page.locator("header").inner_text()
        await page.get_by_role("button", name="Se déconnecter").click()
        await page.wait_for_url(f"{srv.url}/inbox/login")
        await page.get_by_label("Adresse électronique").fill(ANNE)
        await page.get_by_label("Mot de passe").fill(PASSWORD)
        await page.get_by_role("button", name="Se connecter").click()  # no code: the form asks for it
        assert "Saisissez le code" in await page.locator(".error").inner_text()
        assert await axe_violations(page) == []
        await page.get_by_label("Mot de passe").fill(PASSWORD)
        await page.get_by_label("Code de vérification").fill(totp.at(utcnow() + timedelta(seconds=30)))
        await page.get_by_role("button", name="Se connecter").click()
        await page.wait_for_url(f"{srv.url}/inbox")
        assert await page.get_by_role("heading", name="À traiter").count() == 1
        assert await axe_violations(page) == []
    assert not [p for p in problems if "Content Security Policy" in p], problems
