"""Registers the inbox (login, HTML pages, JSON API, stylesheet) on the app: ``setup_inbox(app)``."""

from __future__ import annotations

from aiohttp import web

from hub.web import consent_pages, inbox_api, inbox_pages, mfa_pages
from hub.web.inbox_common import setup_templates


def setup_inbox(app: web.Application) -> None:
    setup_templates(app)
    inbox_pages.add_routes(app)
    inbox_api.add_routes(app)
    mfa_pages.add_routes(app)
    consent_pages.add_routes(app)  # issue 13: consent registry, pré-reprise recommendations
