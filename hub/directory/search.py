"""Find member employers by name and place, to help someone who does not know an employer's SIRET.

Contract: ``await search_employers(session, name, place, limit=20)`` returns a :class:`EmployerSearch` whose
``hits`` are active member employers (:class:`EmployerHit`: SIRET, name, postcode, INSEE commune) whose name
contains every word of ``name`` (accents and case ignored), sorted by name then postcode, at most ``limit``.
``place`` narrows the search: a postcode (``44300``), a département (``44``, ``2A``) or an INSEE commune code.
The directory holds no commune names, so a place written in letters cannot be matched: ``place_ignored`` is then
True and the search runs on the name alone (the caller says so). A name of fewer than 2 letters or digits finds
nothing (``too_short``), so the list of members cannot be dumped by an empty query.
Employers' names and SIRET are public business data, not health data: no audit entry is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crypto.lookup import normalise_text
from hub.store.models import Employer

MIN_QUERY = 2
MAX_WORDS = 6


@dataclass(frozen=True)
class EmployerHit:
    siret: str
    name: str
    postcode: str | None
    commune_insee: str | None


@dataclass
class EmployerSearch:
    hits: list[EmployerHit] = field(default_factory=list)
    too_short: bool = False
    place_ignored: bool = False
    truncated: bool = False


def place_filter(place: str) -> tuple[str, str] | None:
    """``("postcode", "44300")``, ``("prefix", "44")`` or ``("insee", "44109")``; None when not a code."""
    value = re.sub(r"\s+", "", place or "").upper()
    if re.fullmatch(r"\d{5}", value):
        return ("postcode", value)
    if re.fullmatch(r"2[AB]\d{3}", value):
        return ("insee", value)
    if re.fullmatch(r"(\d{2,4}|2[AB]|97\d)", value):
        return ("prefix", value)
    return None


async def search_employers(session: AsyncSession, name: str, place: str = "", limit: int = 20
                           ) -> EmployerSearch:
    result = EmployerSearch()
    words = [w for w in normalise_text(name or "").split(" ") if w][:MAX_WORDS]
    if sum(len(w) for w in words) < MIN_QUERY:
        result.too_short = True
        return result
    query = select(Employer.siret, Employer.name, Employer.postcode, Employer.commune_insee).where(
        Employer.active.is_(True))
    for word in words:  # normalise_text leaves only A-Z, 0-9 and spaces: no LIKE wildcard can get in
        query = query.where(Employer.name_key.like(f"%{word}%"))
    where = place_filter(place)
    if place.strip() and where is None:
        result.place_ignored = True
    elif where is not None:
        kind, value = where
        if kind == "postcode":
            query = query.where(or_(Employer.postcode == value, Employer.commune_insee == value))
        elif kind == "insee":
            query = query.where(Employer.commune_insee == value)
        else:
            query = query.where(or_(Employer.postcode.like(f"{value}%"), Employer.commune_insee.like(f"{value}%")))
    rows = (await session.execute(
        query.order_by(Employer.name_key, Employer.postcode, Employer.siret).limit(limit + 1))).all()
    result.truncated = len(rows) > limit
    result.hits = [EmployerHit(r.siret, r.name, r.postcode, r.commune_insee) for r in rows[:limit]]
    return result
