"""A GP's own figures: the direction's filter (``gp=RPPS``), and the GP's self-service link over the real server
(sent only to the MSSanté address of the directory, the same page whether the RPPS is known or not, the token
stored as a digest, single use, rate-limited, audited)."""

from __future__ import annotations

import re

import aiohttp
from sqlalchemy import select

from hub.core import Hub
from hub.identifiers import with_luhn_key
from hub.store.models import AuditEvent, IndicatorLink, OutboxItem
from tests.indicators_support import GP_RPPS, load_march_2026
from tests.test_indicators_http import DIRECTION, MARCH, _login

MSSANTE = "marc.lefevre@medecin.mssante.fr"  # the demo directory's address for GP_RPPS
NO_MSSANTE = "10000000074"  # Dr Dubois: in the directory, with a plain email address only


async def test_the_direction_reads_one_gp(demo_hub: Hub, start_server) -> None:
    await load_march_2026(demo_hub)
    srv = await start_server(demo_hub)
    async with await _login(demo_hub, srv.url, DIRECTION) as client:
        body = await (await client.get(f"{srv.url}/api/indicators?{MARCH}&by=event&gp={GP_RPPS}")).json()
        assert body["gp"] == GP_RPPS
        tables = {t["id"]: t for t in body["tables"]}
        assert list(tables) == ["activity", "delays", "backlog", "delivery"]  # refusals name no one
        total = next(r for r in tables["activity"]["rows"] if r["key"] == "*")
        # 6 received = 5 automatically + 1 through triage: both hidden, or the 1 would come back
        assert (total["received"], total["routed_automatically"], total["through_triage"], total["answered"]) == (
            "masqué", "masqué", "< 5", 5)
        delays = next(r for r in tables["delays"]["rows"] if r["key"] == "*")
        assert (delays["answer_median"], delays["answer_p90"]) == (4, 6)
        bad = await client.get(f"{srv.url}/api/indicators?{MARCH}&gp=10000000083")
        assert bad.status == 400 and "RPPS" in (await bad.json())["error"]
        exported = await client.get(f"{srv.url}/indicateurs/activity.csv?{MARCH}&gp={GP_RPPS}")
        assert f"-rpps{GP_RPPS}-" in exported.headers["Content-Disposition"]
        page = await (await client.get(f"{srv.url}/indicateurs?{MARCH}&gp={GP_RPPS}")).text()
        assert f"Demandes du médecin RPPS {GP_RPPS} seulement." in page and f"gp={GP_RPPS}" in page


async def _links(hub: Hub) -> list[dict]:
    async with hub.db.session() as session:
        items = (await session.execute(select(OutboxItem).where(OutboxItem.purpose == "indicators-link"))
                 ).scalars().all()
        return [{"kind": item.kind, **await hub.outbox.payload(session, item)} for item in items]


def _main(html: str) -> str:
    return html.split('<main id="contenu"', 1)[1]


async def test_a_gp_reads_their_own_figures_through_a_link(demo_hub: Hub, start_server) -> None:
    await load_march_2026(demo_hub)
    srv = await start_server(demo_hub)
    page = f"{srv.url}/indicateurs/medecin"
    async with aiohttp.ClientSession() as http:
        form = await (await http.get(page)).text()
        assert 'name="rpps"' in form and "email" not in _main(form).lower().replace("messagerie", "")
        # an address typed in the request is never used: the link goes to the directory's MSSanté address
        sent = await http.post(page, data={"rpps": GP_RPPS, "email": "someone@example.org", "to": "x@example.org"})
        assert sent.status == 200
        known = _main(await sent.text())
        assert "un lien vient d&#39;y être envoyé" in known
        [link] = await _links(demo_hub)
        assert (link["kind"], link["to"]) == ("mssante", [MSSANTE])
        assert "someone@example.org" not in str(link)
        token = re.search(r"/indicateurs/medecin/([A-Za-z0-9_-]{40,})", link["text"])[1]  # type: ignore[index]
        # the same answer for an RPPS without MSSanté and for one unknown to the directory; nothing sent
        for other in (NO_MSSANTE, with_luhn_key("1999999999")):
            answer = await http.post(page, data={"rpps": other})
            assert answer.status == 200 and _main(await answer.text()) == known
        assert len(await _links(demo_hub)) == 1
        malformed = await http.post(page, data={"rpps": "12345"})
        assert malformed.status == 400 and "RPPS" in await malformed.text()
        # the token is stored as a digest only
        async with demo_hub.db.session() as session:
            rows = (await session.execute(select(IndicatorLink))).scalars().all()
        assert len(rows) == 1 and token not in repr([vars(r) for r in rows]) and rows[0].used_at is None
        # opening shows a period picker and spends nothing (a mail scanner may follow links)
        opened = await http.get(f"{page}/{token}")
        assert opened.status == 200 and "Afficher mes indicateurs" in await opened.text()
        shown = await http.post(f"{page}/{token}", data={"from": "2026-03-01", "to": "2026-03-31", "by": "event"})
        html = await shown.text()
        assert shown.status == 200 and "Vos indicateurs de médecin : mars 2026" in html
        assert "Visite de pré-reprise" in html and "masqué" in html and "4 j" in html  # median of 5 answers
        assert "Coordination" not in html and "Demandes refusées" not in html and ".csv" not in html
        # single use
        again = await http.post(f"{page}/{token}", data={"from": "2026-03-01", "to": "2026-03-31"})
        assert again.status == 410 and "a déjà servi" in await again.text()
        assert (await http.get(f"{page}/{token}")).status == 410
        assert (await http.get(f"{page}/{'x' * 43}")).status == 404
        # at most 3 asks an hour for one RPPS, known or not: the 4th is refused the same way
        for other in (GP_RPPS, NO_MSSANTE):
            statuses = [(await http.post(page, data={"rpps": other})).status for _ in range(3)]
            assert statuses == [200, 200, 429], other
    async with demo_hub.db.session() as session:
        audit = (await session.execute(select(AuditEvent).where(AuditEvent.entity_type == "IndicatorLink")
                                       .order_by(AuditEvent.id))).scalars().all()
    actions = [(a.action, a.outcome) for a in audit]
    assert actions[:2] == [("create", "success"), ("read", "success")]  # the sending, the opening
    assert actions.count(("read", "denied")) == 3  # used twice more, and an unknown token
    assert actions.count(("create", "success")) == 3 == len(await _links(demo_hub))  # two more asks, not the 4th
    assert all(MSSANTE not in (a.detail or "") for a in audit)
