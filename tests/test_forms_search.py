"""``hub.directory.search``: member employers by name and place (the SIRET help of the forms), on the real
database with the demo directory."""

from __future__ import annotations

from sqlalchemy import update

from hub.core import Hub
from hub.directory.search import place_filter, search_employers
from hub.store.models import Employer


async def sirets(hub: Hub, name: str, place: str = "", limit: int = 20) -> list[str]:
    async with hub.db.session() as session:
        return [h.siret for h in (await search_employers(session, name, place, limit)).hits]


async def test_name_words_accents_and_case_are_ignored(demo_hub: Hub) -> None:
    assert await sirets(demo_hub, "garage martin") == ["06543219800011", "06543219900019"]
    assert await sirets(demo_hub, "  MARTIN   garage ") == ["06543219800011", "06543219900019"]
    assert await sirets(demo_hub, "chantiers atlantique demo") == ["05123456700017"]
    assert await sirets(demo_hub, "Démo") == ["05123456700017"]
    assert await sirets(demo_hub, "boulangerie inconnue") == []


async def test_place_narrows_by_postcode_department_or_insee(demo_hub: Hub) -> None:
    assert await sirets(demo_hub, "garage", "44300") == ["06543219800011"]
    assert await sirets(demo_hub, "garage", "44143") == ["06543219900019"]  # INSEE commune code
    assert await sirets(demo_hub, "garage", "44") == ["06543219800011", "06543219900019"]
    assert await sirets(demo_hub, "garage", "35") == []
    async with demo_hub.db.session() as session:
        found = await search_employers(session, "garage", "Nantes")
    assert found.place_ignored and len(found.hits) == 2


async def test_short_queries_and_wildcards_find_nothing(demo_hub: Hub) -> None:
    async with demo_hub.db.session() as session:
        for query in ("", "a", "%", "_", "% _"):
            found = await search_employers(session, query)
            assert found.hits == [] and found.too_short, query


async def test_limit_and_inactive_members(demo_hub: Hub) -> None:
    async with demo_hub.db.session() as session:
        found = await search_employers(session, "garage", limit=1)
    assert len(found.hits) == 1 and found.truncated
    async with demo_hub.db.session() as session, session.begin():
        await session.execute(update(Employer).where(Employer.siret == "06543219800011").values(active=False))
    assert await sirets(demo_hub, "garage") == ["06543219900019"]


def test_place_filter() -> None:
    assert place_filter("44 300") == ("postcode", "44300")
    assert place_filter("2a004") == ("insee", "2A004")
    assert place_filter("2B") == ("prefix", "2B")
    assert place_filter("974") == ("prefix", "974")
    assert place_filter("Nantes") is None
