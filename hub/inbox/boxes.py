"""Listing the inbox boxes with keyset pagination, and the unread counts.

Contract:
- ``await list_box(hub, session, viewer, box, limit=50, cursor=None)`` returns a :class:`Page` of
  :class:`BoxItem` (newest activity first, ordered by ``(last_activity_at, id)`` descending) and
  ``next_cursor`` (opaque, ``None`` on the last page). Subjects are decrypted; payloads are not.
  The caller audits the listing (subjects may be health data).
- ``await unread_counts(session, viewer, boxes)`` returns ``{box: n}`` (capped at ``COUNT_CAP``; the inbox asks
  for ``COUNTED_BOXES``, the open ones): requests of
  the box whose ``last_activity_at`` is after the viewer's last reading of the thread.
Raises ``Invalid`` (French) on an unknown box or a malformed cursor, ``Forbidden`` on the triage box for a
non-coordinator.

Visibility is a union of index-ordered branches (one per assignee, team, informed team and status), each
limited to the page size plus one, then merged: each branch walks one index from the top, so a page costs
O(branches × limit) whatever the number of stored requests. The extra row matters: when every row of the box comes
from one branch, it is the only proof that a next page exists.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    String,
    TextualSelect,
    bindparam,
    column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from hub.inbox.access import Viewer
from hub.inbox.errors import Forbidden, Invalid
from hub.inbox.sealed import open_texts
from hub.inbox.task_status import BOXES
from hub.store.models import Practitioner, Request, RoutingDecision, Thread, ThreadRead
from hub.store.models.base import UTCDateTime

if TYPE_CHECKING:
    from hub.core import Hub

MAX_LIMIT = 200
COUNT_CAP = 99  # shown as « 99+ »
COUNTED_BOXES = ("todo", "in-progress", "waiting", "triage")  # closed boxes carry no unread count


@dataclass
class BoxItem:
    thread_id: str
    task_id: str
    reference: str
    event: str
    status: str
    business_status: str | None
    subject: str
    requester_kind: str
    employer_siret: str | None
    routed_by: str | None
    assignee: str | None
    in_triage: bool
    created: datetime
    last_activity: datetime
    unread: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.thread_id, "task_id": self.task_id, "reference": self.reference, "event": self.event,
                "status": self.status, "business_status": self.business_status, "subject": self.subject,
                "requester": self.requester_kind, "employer_siret": self.employer_siret,
                "routed_by": self.routed_by, "assignee": self.assignee, "in_triage": self.in_triage,
                "created": self.created.isoformat(), "last_activity": self.last_activity.isoformat(),
                "unread": self.unread}


@dataclass
class Page:
    box: str
    items: list[BoxItem]
    next_cursor: str | None


def encode_cursor(at: datetime, row_id: str) -> str:
    raw = f"{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, row_id = raw.split("|", 1)
        at = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise Invalid("Curseur de pagination invalide : recommencez depuis la première page.") from exc
    if not row_id or len(row_id) > 36:
        raise Invalid("Curseur de pagination invalide : recommencez depuis la première page.")
    return at, row_id


def check_box(viewer: Viewer, box: str) -> tuple[str, ...]:
    if box not in BOXES:
        raise Invalid(f"Boîte inconnue « {box} » (attendues : {', '.join(BOXES)}).")
    if box == "triage" and not viewer.triage:
        raise Forbidden("La file de tri est réservée à la coordination.")
    return BOXES[box]


def _scopes(viewer: Viewer, box: str) -> list[tuple[str, int | bool]]:
    """(column, value) pairs, one per index the box can be read from (their union is what the viewer sees)."""
    if box == "triage":
        return [("in_triage", True)]
    scopes: list[tuple[str, int | bool]] = [("assigned_practitioner_id", p) for p in viewer.practitioners]
    scopes += [("assigned_team_id", t) for t in viewer.teams]
    scopes += [("informed_team_id", t) for t in viewer.informed_teams]
    if viewer.triage:
        scopes.append(("in_triage", True))
    return scopes


def visible_clause(viewer: Viewer) -> ColumnElement[bool]:
    """The whole visibility rule as one predicate (for counts and search)."""
    parts: list[ColumnElement[bool]] = []
    if viewer.practitioners:
        parts.append(Request.assigned_practitioner_id.in_(viewer.practitioners))
    if viewer.teams:
        parts.append(Request.assigned_team_id.in_(viewer.teams))
    if viewer.informed_teams:
        parts.append(Request.informed_team_id.in_(viewer.informed_teams))
    if viewer.triage:
        parts.append(Request.in_triage.is_(True))
    return or_(*parts) if parts else Request.id.is_(None)


SCOPE_COLUMNS = ("assigned_practitioner_id", "assigned_team_id", "informed_team_id", "in_triage")


def _branches(viewer: Viewer, box: str, statuses: tuple[str, ...], columns: str, extra: str,
              params: dict[str, Any], disjoint: bool = False) -> list[str]:
    """One ``SELECT columns FROM requests WHERE <scope> = :v AND status = :s <extra>`` per (scope, status): each
    is a prefix range of one box index. Column names come from ``SCOPE_COLUMNS`` only; values are bound.
    ``disjoint``: each branch also excludes the rows an earlier scope already yields (for UNION ALL)."""
    branches: list[str] = []
    earlier: list[str] = []
    for n, (name, value) in enumerate(_scopes(viewer, box)):
        if name not in SCOPE_COLUMNS:
            raise ValueError(f"not a scope column: {name}")
        params[f"v{n}"] = value
        exclude = "".join(f" AND {e}" for e in earlier) if disjoint else ""
        for m, status in enumerate(statuses):
            params[f"s{m}"] = status
            branches.append(f"SELECT {columns} FROM requests WHERE {name} = :v{n} AND status = :s{m}"  # noqa: S608
                            f"{exclude}{extra}")
        earlier.append(f"{name} IS NOT TRUE" if name == "in_triage" else
                       f"({name} IS NULL OR {name} <> :v{n})")
    return branches


def _page_ids(viewer: Viewer, box: str, statuses: tuple[str, ...], limit: int,
              after: tuple[datetime, str] | None) -> TextualSelect | None:
    """The ids of one page and one more: a UNION of (scope, status) branches, each an ordered index range limited to
    ``limit + 1`` (the first ``limit + 1`` rows of the union are each among the first ``limit + 1`` of their branch).

    Plain SQL with bound parameters: building the same query from 30-odd SQLAlchemy selects costs more Python
    time than running it."""
    binds: list[BindParameter[Any]] = []
    params: dict[str, Any] = {"lim1": limit + 1}
    keyset = " AND (last_activity_at, id) < (:at, :aid)" if after is not None else ""
    branches = _branches(viewer, box, statuses, "id, last_activity_at",
                         f"{keyset} ORDER BY last_activity_at DESC, id DESC LIMIT :lim1", params)
    if not branches:
        return None
    if after is not None:
        params["at"], params["aid"] = after
        binds.append(bindparam("at", type_=UTCDateTime()))
    union = " UNION ".join(f"SELECT * FROM ({b}) AS b{i}" for i, b in enumerate(branches))  # noqa: S608
    sql = (f"SELECT id, last_activity_at FROM ({union}) AS page "  # noqa: S608 - see _branches
           "ORDER BY last_activity_at DESC, id DESC LIMIT :lim1")
    return (text(sql).bindparams(*binds, **params)
            .columns(column("id", String()), column("last_activity_at", UTCDateTime())))


async def list_box(hub: Hub, session: AsyncSession, viewer: Viewer, box: str, limit: int = 50,
                   cursor: str | None = None) -> Page:
    statuses = check_box(viewer, box)
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"Taille de page invalide : entre 1 et {MAX_LIMIT}.")
    after = decode_cursor(cursor) if cursor else None
    query = _page_ids(viewer, box, statuses, limit, after)
    if query is None:
        return Page(box, [], None)
    ids = (await session.execute(query)).all()
    more = len(ids) > limit
    ids = ids[:limit]
    items = await load_items(hub, session, viewer, [r.id for r in ids])
    next_cursor = encode_cursor(ids[-1].last_activity_at, ids[-1].id) if more else None
    return Page(box, items, next_cursor)


async def load_items(hub: Hub, session: AsyncSession, viewer: Viewer, request_ids: list[str]) -> list[BoxItem]:
    """The list rows of these requests, in the given order (subjects decrypted)."""
    if not request_ids:
        return []
    # three key lookups rather than one join: each stays an index probe whatever the planner's statistics say
    rows = (await session.execute(
        select(Request.id, Request.thread_id, Request.event, Request.status, Request.business_status,
               Request.requester_kind, Request.employer_siret, Request.in_triage, Request.created_at,
               Request.last_activity_at, Request.data_key_id, Request.subject_enc, Thread.reference,
               Practitioner.given_name, Practitioner.family_name, Practitioner.role)
        .join(Thread, Thread.id == Request.thread_id)
        .outerjoin(Practitioner, Practitioner.id == Request.assigned_practitioner_id)
        .where(Request.id.in_(request_ids)))).all()
    rules: dict[str, str] = {row[0]: row[1] for row in (await session.execute(
        select(RoutingDecision.request_id, RoutingDecision.rule).where(
            RoutingDecision.request_id.in_(request_ids), RoutingDecision.current.is_(True))
        .order_by(RoutingDecision.id))).all()}
    reads: dict[str, datetime] = {row[0]: row[1] for row in (await session.execute(
        select(ThreadRead.thread_id, ThreadRead.read_at).where(
            ThreadRead.user_id == viewer.user_id, ThreadRead.thread_id.in_([r.thread_id for r in rows])))).all()}
    by_id = {r.id: r for r in rows}
    ordered = [by_id[i] for i in request_ids if i in by_id]
    subjects = await open_texts(hub, session, [(r.data_key_id, "requests", r.id, "subject", r.subject_enc)
                                               for r in ordered])
    items = []
    for r, subject in zip(ordered, subjects, strict=True):
        assignee = None
        if r.family_name:
            assignee = f"{'Dr ' if r.role == 'mdt' else ''}{r.given_name} {r.family_name}".strip()
        items.append(BoxItem(
            thread_id=r.thread_id, task_id=r.id, reference=r.reference, event=r.event, status=r.status,
            business_status=r.business_status, subject=subject, requester_kind=r.requester_kind,
            employer_siret=r.employer_siret, routed_by=rules.get(r.id), assignee=assignee, in_triage=r.in_triage,
            created=r.created_at, last_activity=r.last_activity_at,
            unread=(read_at := reads.get(r.thread_id)) is None or read_at < r.last_activity_at))
    return items


async def unread_counts(session: AsyncSession, viewer: Viewer, boxes: tuple[str, ...]) -> dict[str, int]:
    """Unread requests per box, each count stopping at ``COUNT_CAP``. The visible rows are streamed branch by
    branch (index ranges, as for pages; disjoint, so UNION ALL counts each request once) so that the planner never
    scans the whole table for a small team, and stops as soon as the cap is reached."""
    counts: dict[str, int] = {}
    for box in boxes:
        if box == "triage" and not viewer.triage:
            continue
        params: dict[str, Any] = {"u": viewer.user_id, "cap": COUNT_CAP}
        branches = _branches(viewer, box, BOXES[box], "thread_id, last_activity_at", "", params, disjoint=True)
        if not branches:
            counts[box] = 0
            continue
        sql = (f"SELECT count(*) FROM (SELECT 1 FROM ({' UNION ALL '.join(branches)}) AS v "  # noqa: S608
               "WHERE NOT EXISTS (SELECT 1 FROM thread_reads AS tr WHERE tr.user_id = :u "
               "AND tr.thread_id = v.thread_id AND tr.read_at >= v.last_activity_at) LIMIT :cap) AS c")
        counts[box] = int((await session.execute(text(sql), params)).scalar_one())
    return counts


async def browse(hub: Hub, viewer: Viewer, box: str, limit: int = 50, cursor: str | None = None,
                 source: str | None = None, counts: bool = False) -> tuple[Page, dict[str, int]]:
    """One page of a box (and, when asked, the unread counts of every box), in one audited transaction."""
    async with hub.db.session() as session, session.begin():
        page = await list_box(hub, session, viewer, box, limit, cursor)
        unread = await unread_counts(session, viewer, COUNTED_BOXES) if counts else {}
        if page.items:
            await hub.audit.record(session, actor=viewer.actor(source), action="read", entity_type="TaskList",
                                   detail=f"box {box}: {len(page.items)} item(s)")
    return page, unread
