"""Canary words pushed through every field the consent registry and the recommendations store (decision note,
author, recommendation text, recipient address, the worker's name in the letter) never appear in clear in the
database files (SQLite file and WAL) or tables (PostgreSQL), nor in any log line, verbose included."""

from __future__ import annotations

import logging

import pytest

from hub.consent import recommendations as reco
from hub.consent.service import record_for
from hub.core import Hub
from tests.canary_support import canaries_in_clear
from tests.consent_support import submit
from tests.inbox_support import ANNE, viewer

CANARIES = ("Zorglubnote", "Zorglubtext", "zorglubaddr", "Zorglubfamily", "Zorglubreason")
TABLES = ("consent_decisions", "consent_subjects", "recommendations", "outbox", "messages", "audit_events")


async def test_no_canary_in_clear(demo_hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hub = demo_hub
    thread_id, _, _ = await submit(hub, event="pre-return", channel="form", kind="worker", family="Zorglubfamily",
                                   reason="Zorglubreason du salarié.", worker_email="w@example.org",
                                   requester_email="w@example.org")
    anne = await viewer(hub, ANNE)
    await record_for(hub, anne, thread_id, "recommendations-medecin-conseil", "objection", "in-person", None,
                     "Zorglubnote au téléphone", "t")
    await reco.send(hub, anne, thread_id, reco.RecommendationDraft(
        text="Zorglubtext : poste assis.", checklist=["poste"], recipients=["employer"],
        addresses={"employer": "zorglubaddr@example.fr"}), "t")
    await hub.audit.flush()
    assert await canaries_in_clear(hub, TABLES, CANARIES, caplog) == []
