"""The public online forms: PDP referral (``/saisine-pdp``), pré-reprise request (``/demande-pre-reprise``) and
the private follow-up page (``/suivi/{reference}``). French pages that work without JavaScript.

Lifecycle (see ``hub.plugins``): ``connector()`` returns the connector named ``forms``; ``setup(hub, app)`` adds
its routes, its own Jinja2 environment (``app_key`` of its own, so it never clashes with the inbox's) and its
stylesheet under ``/static/forms/``; it delivers nothing (``transports() == {}``) and runs no listener.
Tunables (``guichet.toml``): ``forms_submissions_per_hour`` (10), ``forms_posts_per_hour`` (60),
``forms_searches_per_hour`` (120), ``forms_max_file_mb`` (10), ``forms_max_files`` (3), ``trusted_proxies``
(addresses of reverse proxies whose ``X-Forwarded-For`` is believed).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp_jinja2
import jinja2
from aiohttp import web

from connectors.forms.guard import CsrfGuard
from connectors.forms.uploads import Limits
from connectors.forms.views import JINJA, PARIS, FormsSite
from hub.plugins import HttpOnlyConnector
from hub.scale.ratelimit import Bucket

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


def build_site(hub: Hub) -> FormsSite:
    extra = hub.settings.extra
    secure = hub.settings.tls_enabled or (hub.settings.public_url or "").startswith("https://")
    limits = Limits(file_bytes=int(extra.get("forms_max_file_mb", 10)) * 1024 * 1024,
                    max_files=int(extra.get("forms_max_files", 3)))
    proxies = extra.get("trusted_proxies", ())
    return FormsSite(
        hub=hub, csrf=CsrfGuard(hub.keystore.index_key(), secure=secure, public_url=hub.settings.public_url),
        limits=limits,
        submissions=hub.limits.limit(Bucket.per_hour("forms-submissions",
                                                     int(extra.get("forms_submissions_per_hour", 10)))),
        posts=hub.limits.limit(Bucket.per_hour("forms-posts", int(extra.get("forms_posts_per_hour", 60)))),
        searches=hub.limits.limit(Bucket.per_hour("forms-searches",
                                                  int(extra.get("forms_searches_per_hour", 120)))),
        trusted_proxies=tuple(proxies.split(",") if isinstance(proxies, str) else proxies))


class FormsConnector(HttpOnlyConnector):
    name = "forms"

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
        app.router.add_static("/static/forms", HERE / "static", append_version=False)


def connector() -> FormsConnector:
    return FormsConnector()


__all__ = ["SITE", "FormsConnector", "connector"]
