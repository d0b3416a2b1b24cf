"""Canary words pushed through every field the consent registry and the recommendations store (decision note,
author, recommendation text, recipient addresses, the worker's name in the letter; the letters as thread messages,
their pickup and MSSanté rows, the lines of a consent hold) never appear in clear in the database files (SQLite file
and WAL) or tables (PostgreSQL), nor in any log line, verbose included."""

from __future__ import annotations

import logging

import pytest

from hub.consent import recommendations as reco
from hub.consent.service import record_for
from hub.core import Hub
from hub.outbox import OutboxWorker
from hub.pickup import service as pickup
from hub.pickup.service import PickupError
from tests.canary_support import canaries_in_clear
from tests.consent_support import Recorder, submit
from tests.inbox_support import ANNE, viewer
from tests.pickup_support import link_token, outbox_texts

CANARIES = ("Zorglubnote", "Zorglubtext", "zorglubaddr", "Zorglubfamily", "Zorglubreason")
TABLES = ("consent_decisions", "consent_subjects", "recommendations", "outbox", "messages", "pickups", "audit_events")


async def test_no_canary_in_clear(demo_hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hub = demo_hub
    thread_id, _, _ = await submit(hub, event="pre-return", channel="form", kind="worker", family="Zorglubfamily",
                                   reason="Zorglubreason du salarié.", worker_email="w@example.org",
                                   requester_email="w@example.org")
    anne = await viewer(hub, ANNE)
    await reco.send(hub, anne, thread_id, reco.RecommendationDraft(
        text="Zorglubtext : poste assis.", checklist=["poste"], recipients=["employer", "medecin-conseil"],
        addresses={"employer": "zorglubaddr@example.fr", "medecin-conseil": "zorglubaddr.mc@cpam.mssante.fr"}), "t")
    # the worker objects after the letters were queued: the MSSanté one is held at departure, the pickup at opening
    await record_for(hub, anne, thread_id, "recommendations-medecin-conseil", "objection", "in-person", None,
                     "Zorglubnote au téléphone", "t")
    worker = OutboxWorker(hub.db, hub.outbox, {"email": Recorder(), "mssante": Recorder()})
    while await worker.run_once():
        pass
    await record_for(hub, anne, thread_id, "recommendations-employer", "objection", "email", None, "", "t")
    with pytest.raises(PickupError):
        await pickup.open_link(hub, link_token((await outbox_texts(hub, thread_id, "pickup"))[0]["text"]))
    await hub.audit.flush()
    assert await canaries_in_clear(hub, TABLES, CANARIES, caplog) == []
