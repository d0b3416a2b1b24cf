"""The forms in headless Debian Chromium: fill, submit, read the errors, follow the /suivi/ link; axe-core finds no
serious or critical accessibility violation on either page, empty or showing errors. No JavaScript of ours runs:
the pages have none."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from connectors.forms import connector
from hub.core import Hub
from hub.server import Server
from tests.browser import axe_violations, chromium_page, needs_chromium
from tests.forms_helpers import TODAY, count_requests

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture
async def url(demo_hub: Hub) -> AsyncIterator[str]:
    server = Server(demo_hub, [connector()], ("api",))
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.http_port}"
    finally:
        await server.stop()


async def fill_worker(page: Any) -> None:
    await page.fill("#f-worker_family_name", "Guénolé")
    await page.fill("#f-worker_given_names", "Maëlle")
    await page.fill("#f-worker_birth_date", "1991-11-02")
    await page.fill("#f-employer_siret", "03821112200023")
    await page.fill("#f-job", "Préparatrice de commandes")


async def test_worker_refers_to_the_pdp_cell_and_follows_the_request(url: str, demo_hub: Hub) -> None:
    async with chromium_page() as page:
        p: Any = page
        await p.goto(url + "/saisine-pdp")
        await p.get_by_label("Je suis le salarié ou la salariée concerné(e)").check()
        await p.get_by_label("Adresse électronique").fill("maelle@example.fr")
        await fill_worker(p)
        await p.get_by_label("Oui", exact=True).check()
        await p.fill("#f-stoppage_start", (TODAY - timedelta(days=50)).isoformat())
        await p.select_option("#f-stoppage_cause", "illness")
        await p.fill("#f-reason", "J'ai besoin d'aide pour adapter mon poste à mon retour.")
        await p.click("button[type=submit]")
        await p.wait_for_selector("h1")
        assert await p.inner_text("h1") == "Votre demande a bien été envoyée"
        reference = await p.inner_text(".reference")
        await p.click(".follow-link a")
        await p.wait_for_selector(".status")
        assert await p.inner_text(".status") == "Reçue"
        assert reference in await p.inner_text("h1")
        assert "adapter mon poste" not in await p.content()
    assert await count_requests(demo_hub, "pdp-referral") == 1


async def test_gp_asks_for_a_pre_return_visit(url: str, demo_hub: Hub) -> None:
    async with chromium_page() as page:
        p: Any = page
        await p.goto(url + "/demande-pre-reprise")
        await p.get_by_label("Médecin traitant").check()
        await p.fill("#f-requester_name", "Dr Hélène Dubois")
        await p.fill("#f-requester_phone", "02 40 00 00 00")
        await p.fill("#f-requester_rpps", "10000000074")
        await fill_worker(p)
        await p.fill("#f-stoppage_start", (TODAY - timedelta(days=35)).isoformat())
        await p.select_option("#f-stoppage_cause", "occupational-disease")
        await p.get_by_label("Je déclare que le salarié a donné son accord").check()
        await p.fill("#f-consent_date", TODAY.isoformat())
        await p.select_option("#f-consent_channel", "oral")
        await p.click("button[type=submit]")
        await p.wait_for_selector("h1")
        assert await p.inner_text("h1") == "Votre demande a bien été envoyée"
    assert await count_requests(demo_hub, "pre-return-visit-request") == 1


async def test_employer_sees_why_it_cannot_ask_for_a_pre_return_visit(url: str, demo_hub: Hub) -> None:
    async with chromium_page() as page:
        p: Any = page
        await p.goto(url + "/demande-pre-reprise")
        await p.get_by_label("Employeur", exact=True).check()
        await p.fill("#f-requester_name", "Service RH")
        await p.click("button[type=submit]")
        await p.wait_for_selector(".error-summary")
        message = await p.inner_text("#e-requester_kind")
        assert "ne peut pas demander de visite de pré-reprise" in message
        assert "rendez-vous de liaison" in await p.inner_text("#employeur")
        assert await p.is_checked("#f-requester_kind-employer")
        assert await p.input_value("#f-requester_name") == "Service RH"
        await p.click(".error-summary a")  # the summary's link leads to the field
        assert await p.evaluate("document.activeElement.id") == "f-requester_kind"
    assert await count_requests(demo_hub) == 0


@pytest.mark.parametrize("path", ["/saisine-pdp", "/demande-pre-reprise"])
async def test_no_serious_accessibility_violation(url: str, path: str) -> None:
    async with chromium_page() as page:
        p: Any = page
        await p.goto(url + path)
        empty = await axe_violations(p)
        assert empty == [], [(v["id"], v["help"]) for v in empty]
        await p.get_by_label("Je suis le salarié ou la salariée", exact=False).check()
        await p.fill("#f-worker_birth_date", "2099-01-01")
        await p.click("button[type=submit]")
        await p.wait_for_selector(".error-summary")
        assert await p.locator(".error-message").count() >= 3
        with_errors = await axe_violations(p)
        assert with_errors == [], [(v["id"], v["help"]) for v in with_errors]
        await p.goto(url + path + "/employeurs?nom=garage")
        search = await axe_violations(p)
        assert search == [], [(v["id"], v["help"]) for v in search]


async def test_mobile_width_has_no_horizontal_scroll(url: str) -> None:
    async with chromium_page() as page:
        p: Any = page
        await p.set_viewport_size({"width": 360, "height": 740})
        await p.goto(url + "/saisine-pdp")
        overflow = await p.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
