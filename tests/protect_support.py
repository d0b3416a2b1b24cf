"""Test helpers: read the routing text that is sealed at rest (``hub.store.routing_text``)."""

from __future__ import annotations

from hub.core import Hub
from hub.store.models import Request, RoutingDecision
from hub.store.routing_text import RoutingText, open_decision, open_request_triage


async def routing_text(hub: Hub, row: RoutingDecision) -> RoutingText:
    async with hub.db.session() as session:
        return await open_decision(hub.sealer, session, row)


async def triage_of(hub: Hub, request: Request) -> str | None:
    async with hub.db.session() as session:
        return await open_request_triage(hub.sealer, session, request)
