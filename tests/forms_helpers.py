"""Helpers of the forms tests: a browser-like HTTP client (cookies kept) and valid form contents."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from hub.core import Hub
from hub.store.models import Request

TODAY = datetime.now(ZoneInfo("Europe/Paris")).date()  # the forms' today (between 00:00 Paris and 00:00 UTC too)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def pdp_worker(**changes: str) -> dict[str, str]:
    fields = {
        "requester_kind": "worker", "requester_email": "lea.durand@example.fr", "requester_phone": "",
        "worker_family_name": "Durand", "worker_given_names": "Léa", "worker_birth_date": "1985-04-12",
        "employer_siret": "04423065100018", "job": "Boulangère", "stoppage_has": "oui",
        "stoppage_start": (TODAY - timedelta(days=45)).isoformat(), "stoppage_cause": "illness",
        "reason": "Je voudrais être aidée pour garder mon poste après une opération de l'épaule.",
    }
    fields.update(changes)
    return fields


def pdp_employer(**changes: str) -> dict[str, str]:
    fields = pdp_worker(requester_kind="employer", requester_name="Jean Martin",
                        requester_organisation="Garage Martin", requester_email="rh@garage-martin.example.fr",
                        employer_siret="06543219800011", consent="oui",
                        consent_date=(TODAY - timedelta(days=1)).isoformat(), consent_channel="oral",
                        reason="Notre mécanicien ne peut plus porter de charges lourdes ; comment l'aider ?")
    fields.update(changes)
    return fields


def pre_return_gp(**changes: str) -> dict[str, str]:
    fields = {
        "requester_kind": "gp", "requester_name": "Dr Hélène Dubois", "requester_email": "dr.dubois@example.fr",
        "requester_rpps": "10000000074", "worker_family_name": "Kerbrat", "worker_given_names": "Yannick",
        "worker_birth_date": "14/03/1978", "employer_siret": "04423065100018",
        "stoppage_start": (TODAY - timedelta(days=40)).isoformat(), "stoppage_cause": "work-accident",
        "stoppage_end": (TODAY + timedelta(days=20)).isoformat(), "consent": "oui",
        "consent_date": TODAY.isoformat(), "consent_channel": "oral", "reason": "Reprise à préparer.",
    }
    fields.update(changes)
    return fields


async def open_form(http: aiohttp.ClientSession, url: str) -> tuple[str, str]:
    """GET the form; return (csrf token, idempotency key) as a browser would hold them."""
    async with http.get(url) as resp:
        assert resp.status == 200, resp.status
        soup = BeautifulSoup(await resp.text(), "html.parser")
    csrf = soup.find("input", {"name": "csrf"})
    envoi = soup.find("input", {"name": "envoi"})
    assert csrf is not None and envoi is not None
    return str(csrf["value"]), str(envoi["value"])


def form_data(fields: dict[str, str], files: list[tuple[str, bytes, str]] = ()) -> aiohttp.FormData:  # type: ignore[assignment]
    data = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        data.add_field(name, value)
    if not files:
        data.add_field("pieces", b"", filename="", content_type="application/octet-stream")
    for filename, content, ctype in files:
        data.add_field("pieces", content, filename=filename, content_type=ctype)
    return data


async def submit(http: aiohttp.ClientSession, url: str, fields: dict[str, str],
                 files: list[tuple[str, bytes, str]] = (), csrf: str | None = None,  # type: ignore[assignment]
                 envoi: str | None = None, fresh: bool = True) -> tuple[int, BeautifulSoup, str]:
    """Open the form (for its tokens) then post ``fields``; return (status, parsed page, html)."""
    token, key = await open_form(http, url) if fresh else ("", "")
    body = {"csrf": token if csrf is None else csrf, "envoi": key if envoi is None else envoi, **fields}
    async with http.post(url, data=form_data(body, files)) as resp:
        html = await resp.text()
        return resp.status, BeautifulSoup(html, "html.parser"), html


async def count_requests(hub: Hub, event: str | None = None) -> int:
    async with hub.db.session() as session:
        query = select(func.count()).select_from(Request)
        if event:
            query = query.where(Request.event == event)
        return int((await session.execute(query.where(Request.source_key.like("form:%")))).scalar_one())


def field_error(soup: BeautifulSoup, name: str) -> str:
    """The error text shown next to field ``name`` ("" when none)."""
    node = soup.find(id=f"e-{name}")
    return node.get_text(" ", strip=True) if node is not None else ""


def value_of(soup: BeautifulSoup, name: str) -> Any:
    node = soup.select_one(f'[name="{name}"]')
    if node is None:
        return None
    if node.name == "textarea":
        return node.get_text()
    if node.name == "select":
        chosen = node.find("option", selected=True)
        return chosen["value"] if chosen else ""
    if node.get("type") == "radio":
        checked = soup.find("input", attrs={"name": name, "checked": True})
        return checked["value"] if checked else None
    return node.get("value")


def text_at(soup: BeautifulSoup, selector: str) -> str:
    """The text of the first element matching ``selector`` (the test fails when there is none)."""
    node = soup.select_one(selector)
    assert node is not None, f"nothing matches {selector}"
    return node.get_text()
