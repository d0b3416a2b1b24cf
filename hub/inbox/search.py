"""Search by reference, worker name, employer name or SIRET, through keyed hashes only.

Contract: ``await search(hub, viewer, query, source, limit=50)`` turns the query into candidate digests
(``hub.hasher``: reference, SIRET, family name, family + first given name in either order, employer name), joins
``request_lookups`` on them (the SQL carries digests, never the typed text), applies the viewer's visibility and
returns the newest matching :class:`~hub.inbox.boxes.BoxItem` rows. The search is audited (without its text).
Raises ``Invalid`` when the query is empty or too long.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import select

from hub.crypto.lookup import normalise_text
from hub.inbox.access import Viewer
from hub.inbox.boxes import BoxItem, load_items, visible_clause
from hub.inbox.errors import Invalid
from hub.store.models import Request, RequestLookup

if TYPE_CHECKING:
    from hub.core import Hub

REFERENCE = re.compile(r"^GU-?[0-9A-Z]{4}-?[0-9A-Z]{4}$")


def candidate_digests(hub: Hub, query: str) -> set[str]:
    hasher, text = hub.hasher, query.strip()
    digests: set[str] = set()
    compact = re.sub(r"\s+", "", text.upper())
    if REFERENCE.match(compact):
        chars = compact.replace("GU", "", 1).replace("-", "")
        digests.add(hasher.digest("reference", f"GU-{chars[:4]}-{chars[4:]}"))
    digits = re.sub(r"\D", "", text)
    if len(digits) == 14 and len(re.sub(r"[\d\s.]", "", text)) == 0:
        digests.add(hasher.digest("siret", digits))
    words = normalise_text(text).split()
    if words:
        digests.add(hasher.digest("family", text))
        digests.add(hasher.digest("employer", text))
        for i in range(1, len(words)):
            for family, given in ((words[:i], words[i:]), (words[i:], words[:i])):
                digests.update(hasher.name_digests(" ".join(family), given[0])[1:])
    return digests


async def search(hub: Hub, viewer: Viewer, query: str, source: str | None = None, limit: int = 50
                 ) -> list[BoxItem]:
    text = (query or "").strip()
    if not text:
        raise Invalid("Saisissez une référence, un nom de salarié ou un employeur.")
    if len(text) > 200:
        raise Invalid("Recherche trop longue (200 caractères au plus).")
    digests = candidate_digests(hub, text)
    async with hub.db.session() as session, session.begin():
        ids: list[str] = []
        if viewer.sees_clinical and digests:
            matching = select(RequestLookup.request_id).where(RequestLookup.digest.in_(digests))
            ids = list((await session.execute(
                select(Request.id).where(Request.id.in_(matching), visible_clause(viewer))
                .order_by(Request.last_activity_at.desc(), Request.id.desc()).limit(limit))).scalars())
        items = await load_items(hub, session, viewer, ids)
        await hub.audit.record(session, actor=viewer.actor(source), action="search", entity_type="Task",
                               detail=f"{len(items)} result(s)")
    return items
