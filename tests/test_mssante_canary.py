"""Canary words pushed through a message read from the MSSanté mailbox (sender name, subject, body, an XDM
patient's name and document, the X-MSS headers) never appear in clear in the database (SQLite file and WAL, or
PostgreSQL tables) nor in any log line, verbose included."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from connectors.mssante.config import MssanteConfig
from connectors.mssante.inbound import Inbound
from connectors.mssante.xdm_build import OutDocument, OutPatient, build_xdm
from hub.core import Hub
from tests.canary_support import canaries_in_clear
from tests.mssante_pki import BAL, Pki
from tests.mssante_support import GP_MSS, gp_message, register_gp_mailbox

CANARIES = ("Zorglubsubject", "Zorglubbody", "Zorglubfamily", "Zorglubdoc", "Zorglubheader")
TABLES = ("requests", "messages", "attachments", "outbox", "audit_events", "leases", "request_lookups")


async def test_no_canary_in_clear(demo_hub: Hub, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hub = demo_hub
    pki = Pki(tmp_path / "pki")
    config = MssanteConfig.from_settings(hub.settings.with_(extra={
        "mssante_address": BAL, "mssante_imap": "localhost:993", "mssante_smtp": "localhost:465",
        "mssante_cert": str(pki.client.cert), "mssante_key": str(pki.client.key), "mssante_ca": str(pki.ca.path),
        "mssante_nil": "NIL-1"}))
    assert config is not None
    await register_gp_mailbox(hub)
    archive = build_xdm([OutDocument(b"%PDF-1.4 Zorglubdoc\n", title="CR")],
                        OutPatient(ins="180037512345678", family_name="Zorglubfamily", given_names="Paul"),
                        author="10000000074^DUBOIS^Hélène")
    raw = gp_message("Bonjour, Zorglubbody, SIRET 44306184100047.", subject="XDM/1.0/DDM+Zorglubsubject",
                     attachments=[("IHE_XDM.ZIP", "application/zip", archive)], X_MSS_Zorglubheader="1",
                     Disposition_Notification_To=GP_MSS)
    assert await Inbound(hub, config, hub.mailbox).handle(raw) == "request"
    await hub.mailbox.acquire(f"mssante:{BAL}", "host:1", 60)
    await hub.audit.flush()
    assert await canaries_in_clear(hub, TABLES, CANARIES, caplog) == []
