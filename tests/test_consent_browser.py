"""The full objection case in headless Chromium: the worker objects on their follow-up page; the physician then
cannot send the pré-reprise recommendations to the employer and sees why. Every page passes axe (no serious or
critical violation) and breaks no CSP rule."""

from __future__ import annotations

import os
from typing import cast

import pytest
from playwright.async_api import Page

from hub.core import Hub
from tests.accounts_support import otp_for
from tests.browser import axe_violations, chromium_page, needs_chromium
from tests.consent_support import denied_transfers, recommendation_states, worker_form_request
from tests.inbox_support import ANNE, PASSWORD

pytestmark = [pytest.mark.browser, needs_chromium]


async def _axe_clean(page: Page, where: str) -> None:
    violations = await axe_violations(page)
    assert violations == [], (where, [(v["id"], v["help"]) for v in violations])


async def test_worker_objects_then_the_physician_cannot_send_to_the_employer(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    thread_id, task_id, reference, token = await worker_form_request(demo_hub)
    problems: list[str] = []
    async with chromium_page() as raw:
        page = cast(Page, raw)
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        # the worker, on the follow-up page of the request they made
        await page.goto(f"{srv.url}/suivi/{reference}?t={token}")
        await _axe_clean(page, "suivi")
        employer_form = page.locator("form.choice", has_text="à votre employeur")
        assert "aucune opposition" in await employer_form.inner_text()
        await employer_form.get_by_role("button", name="Je m'oppose à cette transmission").click()
        await page.wait_for_url(f"{srv.url}/suivi/{reference}?t={token}&choix=ok")
        assert "Votre choix a bien été enregistré" in await page.locator("main").inner_text()
        assert "opposition" in await page.locator("form.choice", has_text="à votre employeur").inner_text()
        assert await page.get_by_role("button", name="Je lève mon opposition").count() == 1
        await _axe_clean(page, "suivi after the objection")
        # the physician
        await page.goto(f"{srv.url}/inbox/login")
        await page.get_by_label("Adresse électronique").fill(ANNE)
        await page.get_by_label("Mot de passe").fill(PASSWORD)
        await page.get_by_label("Code de vérification").fill(await otp_for(demo_hub, ANNE) or "")
        await page.get_by_role("button", name="Se connecter").click()
        await page.wait_for_url(f"{srv.url}/inbox")
        await page.goto(f"{srv.url}/inbox/threads/{thread_id}")
        await page.get_by_role("link", name="Recommandations de pré-reprise").click()
        await page.wait_for_url(f"{srv.url}/inbox/threads/{thread_id}/recommandations")
        position = await page.locator("#position-employer").inner_text()
        assert "impossible" in position and "opposition" in position
        await _axe_clean(page, "recommandations")
        await page.get_by_label("Aménagement du poste de travail").check()
        await page.get_by_label("Recommandations (sans aucune information médicale)").fill(
            "Poste sans port de charges lourdes pendant trois mois.")
        await page.get_by_label("Adresse électronique de l'employeur").fill("rh@conserverie.example")
        await page.get_by_role("button", name="Relire avant envoi").click()
        refusal = page.locator(".error", has_text="Envoi refusé")
        text = await refusal.first.inner_text()
        assert "à l'employeur" in text and "opposition" in text and "Rien n'a été envoyé" in text
        assert await page.get_by_role("button", name="Confirmer l'envoi").count() == 0
        await _axe_clean(page, "review refused")
        if os.environ.get("GUICHET_SCREENSHOTS"):
            await page.screenshot(path=os.path.join(os.environ["GUICHET_SCREENSHOTS"], "recommandations.png"),
                                  full_page=True)
        # the registry says the same, with its history
        await page.get_by_role("link", name="Registre des consentements").click()
        await page.wait_for_url(f"{srv.url}/inbox/threads/{thread_id}/consentements")
        row = await page.locator("#etat-recommendations-employer").inner_text()
        assert "Opposition" in row and "Non" in row and "formulaire en ligne" in row
        await _axe_clean(page, "consentements")
        # the médecin conseil still may receive them: review, confirm, sent
        await page.goto(f"{srv.url}/inbox/threads/{thread_id}/recommandations")
        await page.get_by_role("checkbox", name="L'employeur").uncheck()
        await page.get_by_role("checkbox", name="Le médecin conseil").check()
        await page.get_by_label("Recommandations (sans aucune information médicale)").fill("Temps partiel.")
        await page.get_by_label("Adresse électronique (MSSanté) du médecin conseil").fill("mc@cpam.mssante.fr")
        await page.get_by_role("button", name="Relire avant envoi").click()
        assert "Temps partiel." in await page.locator("pre.letter").inner_text()
        assert "par messagerie sécurisée de santé (MSSanté)" in await page.locator("#via-medecin-conseil").inner_text()
        await _axe_clean(page, "review sendable")
        await page.get_by_role("button", name="Confirmer l'envoi").click()
        await page.wait_for_url(f"{srv.url}/inbox/threads/{thread_id}/consentements?fait=recommandations")
        # the thread: the worker's decisions, and how the letter left
        await page.goto(f"{srv.url}/inbox/threads/{thread_id}")
        assert "opposition le" in await page.locator("#consent-recommendations-employer").inner_text()
        assert "par messagerie sécurisée de santé (MSSanté) : parties le" in await page.locator(
            "li.msg.out .delivery").inner_text()
        await _axe_clean(page, "thread with the consent state")
    assert await recommendation_states(demo_hub, task_id) == [("medecin-conseil", "sent")]
    assert len(await denied_transfers(demo_hub, task_id)) >= 1
    assert not [p for p in problems if "Content Security Policy" in p], problems
