"""Canary words through every free-text field of every channel, then a search of everything at rest and every log
line: the raw database (SQLite file and WAL, or every row of the PostgreSQL schema), the data dir, and the verbose
log (``guichet -v``: INFO lines included). None may appear.

Fields: an email body without SIRET (triage), an email naming its employer in the text (the extractor's
"employer" reaches routing), the PDP form's employer name and reason, a FHIR Bundle's employer name and message,
the inbox's reply, reassignment note and closing note, a consent note, the worker's own email address; and the
secrets of an account's second factor (the TOTP secret and its recovery codes)."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pyotp
import pytest
from sqlalchemy import select

from connectors.smtp.sink import Sink
from hub import mfa
from hub.account_admin import mfa_reset
from hub.audit import Actor
from hub.consent.service import record_for
from hub.core import Hub
from hub.hygiene import configure_logging
from hub.inbox import actions
from hub.inbox.reassign import Target
from hub.plugins import load_connectors
from hub.server import Server
from hub.store.models import Request, Thread, User, utcnow
from tests.conftest import PG_URL, backend, wait_until
from tests.fhir_support import add_client, example, get_token, post_message
from tests.forms_helpers import client, pdp_worker, submit
from tests.inbox_support import ANNE, TRI, place, practitioner, viewer
from tests.test_smtp_support import gp_mail, send_sync

CANARIES = {
    "email_body": "Zorglubite",
    "email_employer": "Quetzalcorp",
    "form_employer": "Brindeloup",
    "form_reason": "Fromchetude",
    "fhir_employer": "Vantablorg",
    "fhir_text": "Pimprenaille",
    "reply": "Grolandisme",
    "reassign_note": "Tartempionade",
    "close_note": "Farfadeleste",
    "worker_email": "carabistouille",
    "consent_note": "Hurluberlesque",
}


@pytest.fixture
def verbose_log() -> Iterator[io.StringIO]:
    """The log exactly as ``guichet -v`` configures it, written to a buffer; the previous logging restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, {n: logging.getLogger(n).level for n in ("hub", "connectors")})
    for handler in saved[0]:
        root.removeHandler(handler)
    configure_logging(verbose=True)
    buffer = io.StringIO()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(buffer)
    try:
        yield buffer
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)


async def _every_row(hub: Hub) -> bytes:
    """Every value of every table of the test's PostgreSQL schema, bytes as stored."""
    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
    out = bytearray()
    try:
        tables = await conn.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
                                  hub.settings.database_schema)
        for t in tables:
            query = f'SELECT * FROM "{hub.settings.database_schema}"."{t["table_name"]}"'  # noqa: S608 - our schema
            for row in await conn.fetch(query):
                for value in row.values():
                    out += value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")
                    out += b"\x00"
    finally:
        await conn.close()
    return bytes(out)


def _files(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def _hits(blob: bytes, where: str, words: dict[str, str] = CANARIES) -> list[str]:
    found = []
    for field, word in words.items():
        for variant in (word, word.upper(), word.lower()):
            if variant.encode() in blob:
                found.append(f"{field} ({word}) in {where}")
                break
    return found


async def test_no_canary_at_rest_or_in_logs(demo_hub: Hub, verbose_log: io.StringIO) -> None:
    hub = demo_hub
    sink = Sink()
    await sink.start()
    hub.settings = hub.settings.with_(smtp_relay=f"127.0.0.1:{sink.port}")
    server = Server(hub, load_connectors(), ("api", "smtp", "worker"))
    await server.start()
    try:
        port, base = int(hub.services["smtp_port"]), f"http://127.0.0.1:{server.http_port}"
        c = CANARIES
        # email: no SIRET, free text only (triage)
        mail1 = gp_mail(f"Bonjour, je vous adresse ce patient, suivi pour {c['email_body']} chronique.")
        assert (await asyncio.to_thread(send_sync, port, mail1, "dr.dubois@medecins-demo.fr",
                                        [hub.settings.address]))[0] == 250
        # email: the employer named in the text, from the worker in person (their address is an identity)
        mail2 = gp_mail(f"Bonjour,\nje travaille chez {c['email_employer']} à Nantes et je voudrais un rendez-vous.",
                        sender=f"{c['worker_email']}@example.org")
        assert (await asyncio.to_thread(send_sync, port, mail2, f"{c['worker_email']}@example.org",
                                        [hub.settings.address]))[0] == 250
        # the PDP form: employer by name, reason typed
        async with client() as http:
            status, _, html = await submit(http, base + "/saisine-pdp", pdp_worker(
                employer_siret="", employer_name=c["form_employer"],
                reason=f"J'ai besoin d'aide : {c['form_reason']} au poste."))
            assert status == 200 and "GU-" in html, html[:500]
        # a FHIR Bundle: employer name and message text
        api_client = await add_client(hub)
        bundle = example("coordination-request")
        for entry in bundle["entry"]:
            res = entry["resource"]
            if res["resourceType"] == "Organization" and res.get("name") == "Transports Loire":
                res["name"] = f"Transports {c['fhir_employer']}"
                res.pop("identifier", None)
            if res["resourceType"] == "Communication":
                res["payload"] = [{"contentString": f"Situation : {c['fhir_text']} au travail."}]
        async with aiohttp.ClientSession() as http:
            token = await get_token(http, base, api_client)
            status, body = await post_message(http, base, token, bundle)
            assert status == 200, body
        # the inbox: a reply, a reassignment note, a closing note
        async with hub.db.session() as session:
            email_threads = (await session.execute(
                select(Thread.id, Request.id).join(Request, Request.thread_id == Thread.id)
                .where(Thread.channel == "email").order_by(Thread.created_at))).all()
        anne_doc = await practitioner(hub, "anne")
        for _, task_id in email_threads:
            await place(hub, task_id, assigned_practitioner_id=anne_doc.id, assigned_team_id=anne_doc.team_id)
        anne = await viewer(hub, ANNE)
        (first, _), (second, _) = email_threads[-2:]
        await record_for(hub, anne, first, "exchange-gp", "consent", "in-person",  # the consent registry (issue 13)
                         note=f"accord par téléphone, {c['consent_note']}")
        await actions.reply(hub, anne, first, f"Je le reçois ; {c['reply']} noté.", confirm_unverified=True)
        await actions.reassign(hub, anne, first, Target(team="triage"), f"pas pour moi, {c['reassign_note']}")
        await actions.close(hub, anne, second, "completed", note=f"Vu, {c['close_note']}.")
        # the second factor: a fresh TOTP secret, confirmed, and its recovery codes
        uri = await mfa_reset(hub, ANNE, Actor("canary", "test"))
        async with hub.db.session() as session, session.begin():
            user = (await session.execute(select(User).where(User.email == ANNE))).scalar_one()
            codes = await mfa.confirm(hub, session, user, pyotp.parse_uri(uri).now(), utcnow())
        assert codes
        secrets = {"totp_secret": str(pyotp.parse_uri(uri).secret)} | {
            f"recovery_code_{i}": code for i, code in enumerate(codes)}
        await hub.audit.flush()

        async def delivered() -> bool:
            return len(sink.messages) >= 3
        await wait_until(delivered, timeout=20)
        # the inbox still shows the (sealed) explanation and triage reason
        tri_view = await actions_view(hub, first)
        assert c["reassign_note"] in (tri_view or "")
        if backend() == "sqlite":
            db_file = Path(hub.settings.database_url.split("///", 1)[1])
            at_rest = await asyncio.to_thread(lambda: db_file.read_bytes() + Path(f"{db_file}-wal").read_bytes())
        else:
            at_rest = await _every_row(hub)
        logging.getLogger("hub.canary").debug("the verbose log is captured")
        found = _hits(at_rest, "the database") + _hits(await asyncio.to_thread(_files, hub.settings.home),
                                                        "the data dir")
        found += _hits(verbose_log.getvalue().encode(), "the verbose log")
        for blob, where in ((at_rest, "the database"), (verbose_log.getvalue().encode(), "the verbose log")):
            found += _hits(blob, where, secrets)
        assert "the verbose log is captured" in verbose_log.getvalue()
        assert found == [], found
    finally:
        await server.stop()
        await sink.stop()


async def actions_view(hub: Hub, thread_id: str) -> str | None:
    """The routing explanation and triage reason the inbox shows for the thread (opened by the triage desk)."""
    from hub.inbox.threads import open_thread

    admin = await viewer(hub, TRI)
    view = await open_thread(hub, admin, thread_id)
    return f"{view.routing_explanation} | {view.triage_reason}"


async def test_storage_errors_and_library_debug_carry_no_parameters(hub: Hub, verbose_log: io.StringIO) -> None:
    from sqlalchemy.exc import IntegrityError

    token = CANARIES["email_body"] + "-reply-token"
    with pytest.raises(IntegrityError) as caught:
        async with hub.db.session() as session, session.begin():
            for _ in range(2):
                session.add(Thread(id=f"t-{_}", reference="GU-SAME-SAME", channel="email", reply_token=token))
    assert CANARIES["email_body"] not in str(caught.value)
    logging.getLogger("hub.canary").exception("storage failed", exc_info=caught.value)
    logging.getLogger("aiosqlite").debug("executing %s", token)  # a library's DEBUG line stays out under -v
    logging.getLogger("mail.log").debug("DATA %s", token)
    logging.getLogger("connectors.smtp").info("from %s", "jeanne.carabistouille@example.org")
    text = verbose_log.getvalue()
    assert "storage failed" in text and "parameters" in text and "<adresse masquée>" in text
    assert _hits(text.encode(), "the verbose log") == []
