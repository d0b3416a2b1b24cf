"""The public online forms: PDP referral (``/saisine-pdp``), pré-reprise request (``/demande-pre-reprise``) and
the private follow-up page (``/suivi/{reference}``). French pages that work without JavaScript.

Lifecycle (see ``hub.plugins``): ``connector()`` returns the connector named ``forms``; ``setup(hub, app)`` adds
its routes, its own Jinja2 environment (``app_key`` of its own, so it never clashes with the inbox's) and its
stylesheet under ``/static/forms/``; it delivers nothing (``transports() == {}``) and runs no listener.
Tunables (``guichet.toml``): ``forms_submissions_per_hour`` (10), ``forms_posts_per_hour`` (60),
``forms_searches_per_hour`` (120), ``forms_max_file_mb`` (10), ``forms_max_files`` (3), ``trusted_proxies``
(addresses of reverse proxies whose ``X-Forwarded-For`` is believed); typed and checked by ``check_settings``
before anything listens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp_jinja2
import jinja2
from aiohttp import web

from connectors.forms.guard import CsrfGuard
from connectors.forms.uploads import Limits
from connectors.forms.views import JINJA, PARIS, FormsSite
from hub.config import Settings
from hub.plugins import HttpOnlyConnector
from hub.scale.ratelimit import Bucket
from hub.settings_check import integer, names

if TYPE_CHECKING:
    from hub.core import Hub

HERE = Path(__file__).resolve().parent
SITE: web.AppKey[FormsSite] = web.AppKey("forms_site", FormsSite)


def french_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(PARIS).strftime("%d/%m/%Y à %H h %M")
    return value.strftime("%d/%m/%Y")


@dataclass(frozen=True)
class FormsSettings:
    """The forms' settings (``guichet.toml``), typed and checked once (``settings_check``)."""

    max_file_mb: int
    max_files: int
    submissions_per_hour: int
    posts_per_hour: int
    searches_per_hour: int
    trusted_proxies: tuple[str, ...]

    @classmethod
    def read(cls, settings: Settings) -> FormsSettings:
        extra = settings.extra
        return cls(max_file_mb=integer(extra, "forms_max_file_mb", 10, 1, 100),
                   max_files=integer(extra, "forms_max_files", 3, 0, 20),
                   submissions_per_hour=integer(extra, "forms_submissions_per_hour", 10, 1),
                   posts_per_hour=integer(extra, "forms_posts_per_hour", 60, 1),
                   searches_per_hour=integer(extra, "forms_searches_per_hour", 120, 1),
                   trusted_proxies=names(extra, "trusted_proxies"))


def build_site(hub: Hub) -> FormsSite:
    typed = FormsSettings.read(hub.settings)
    secure = hub.settings.tls_enabled or (hub.settings.public_url or "").startswith("https://")
    limits = Limits(file_bytes=typed.max_file_mb * 1024 * 1024, max_files=typed.max_files)
    return FormsSite(
        hub=hub, csrf=CsrfGuard(hub.keystore.index_key(), secure=secure, public_url=hub.settings.public_url),
        limits=limits,
        submissions=hub.limits.limit(Bucket.per_hour("forms-submissions", typed.submissions_per_hour)),
        posts=hub.limits.limit(Bucket.per_hour("forms-posts", typed.posts_per_hour)),
        searches=hub.limits.limit(Bucket.per_hour("forms-searches", typed.searches_per_hour)),
        trusted_proxies=typed.trusted_proxies)


class FormsConnector(HttpOnlyConnector):
    name = "forms"

    def check_settings(self, settings: Settings) -> None:
        FormsSettings.read(settings)

    def setup(self, hub: Hub, app: web.Application) -> None:
        site = build_site(hub)
        app[SITE] = site
        env = aiohttp_jinja2.setup(app, app_key=JINJA, loader=jinja2.FileSystemLoader(HERE / "templates"),
                                   autoescape=True, default_helpers=False, trim_blocks=True, lstrip_blocks=True,
                                   auto_reload=False)
        env.filters["date_fr"] = french_date
        app.router.add_get("/saisine-pdp", site.pdp_get)
        app.router.add_post("/saisine-pdp", site.pdp_post)
        app.router.add_get("/saisine-pdp/employeurs", site.employers)
        app.router.add_get("/demande-pre-reprise", site.pre_return_get)
        app.router.add_post("/demande-pre-reprise", site.pre_return_post)
        app.router.add_get("/demande-pre-reprise/employeurs", site.employers)
        app.router.add_get("/suivi/{reference}", site.follow)
        app.router.add_post("/suivi/{reference}", site.follow_choice)
        app.router.add_static("/static/forms", HERE / "static", append_version=False)


def connector() -> FormsConnector:
    return FormsConnector()


__all__ = ["SITE", "FormsConnector", "connector"]
