"""Reading the caller's own Tasks and their Communications as FHIR resources (the hub's ``ClientTasks`` reads).

Contract: ``await read_task(hub, grant, task_id, actor) -> dict | None``;
``await search_tasks(hub, grant, statuses, updated, count, actor) -> list[dict]``;
``await search_communications(hub, grant, task_id, actor) -> list[dict] | None``. No SQL here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from connectors.fhir_api.resources import communication, task
from hub.audit import Actor
from hub.client_tasks import COMPARATORS, TaskInfo
from hub.smart import AccessGrant

if TYPE_CHECKING:
    from hub.core import Hub

__all__ = ["COMPARATORS", "read_task", "search_communications", "search_tasks", "task_resource"]


def task_resource(info: TaskInfo) -> dict[str, Any]:
    return task(info.id, info.status, info.event, info.reference, business_status=info.business_status,
                created=info.created_at, updated=info.updated_at)


async def read_task(hub: Hub, grant: AccessGrant, task_id: str, actor: Actor) -> dict[str, Any] | None:
    info = await hub.client_tasks.read(grant.client_id, task_id, actor)
    return None if info is None else task_resource(info)


async def search_tasks(hub: Hub, grant: AccessGrant, statuses: list[str], updated: list[tuple[str, datetime]],
                       count: int, actor: Actor) -> list[dict[str, Any]]:
    return [task_resource(i) for i in await hub.client_tasks.search(grant.client_id, statuses, updated, count,
                                                                     actor)]


async def search_communications(hub: Hub, grant: AccessGrant, task_id: str, actor: Actor
                                ) -> list[dict[str, Any]] | None:
    found = await hub.client_tasks.communications(grant.client_id, task_id, actor)
    if found is None:
        return None
    return [communication(m.id, task_id, m.direction, m.kind, m.author_label, m.body, m.created_at) for m in found]
