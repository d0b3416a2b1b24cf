"""Headless Debian Chromium driven by Playwright (the browser is the system's; nothing is downloaded).

Use: ``async with chromium_page() as page: await page.goto(url)``. Tests that need it are marked ``browser``
and skipped with a clear reason when ``/usr/bin/chromium`` is absent (``.ci/run`` installs it).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]
AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")


@asynccontextmanager
async def chromium_page() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as profile:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=FLAGS)
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                yield page
            finally:
                await context.close()


async def axe_violations(page: object, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core (npm ``axe-core``, installed by the test command) in the page; return the violations of
    the given impacts."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: run `npm install axe-core` (the test command does)")
    # evaluated through the DevTools protocol, not as a <script> tag: the pages' CSP forbids inline scripts
    await page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")  # type: ignore[attr-defined]
    result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")  # type: ignore[attr-defined]
    return [v for v in result["violations"] if v.get("impact") in impacts]
