"""The public forms over the real server (real sockets, real database): validation, abuse protection, intake,
follow-up and confirmation email."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select, text, update

from connectors.forms import connector
from hub.audit import Actor
from hub.core import Hub
from hub.intake import MessageDraft
from hub.server import Server
from hub.store.models import Attachment, AuditEvent, ConsentRecord, OutboxItem, Practitioner, Request, Thread
from tests.forms_helpers import (
    PDF,
    PNG,
    TODAY,
    client,
    count_requests,
    field_error,
    open_form,
    pdp_employer,
    pdp_worker,
    pre_return_gp,
    submit,
    text_at,
    value_of,
)


class Site:
    def __init__(self, server: Server) -> None:
        self.server, self.hub = server, server.hub

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.http_port}"


@pytest.fixture
async def make_site() -> AsyncIterator[Callable[..., Awaitable[Site]]]:
    """The real app with the forms connector only, on an ephemeral port (other areas' connectors are tested by
    their own suites; ``test_forms_with_every_connector`` checks they live together)."""
    servers: list[Server] = []

    async def make(hub: Hub, **extra: Any) -> Site:
        if extra:
            hub.settings = hub.settings.with_(extra={**hub.settings.extra, **extra})
        server = Server(hub, [connector()], ("api",))
        await server.start()
        servers.append(server)
        return Site(server)

    yield make
    for server in servers:
        await server.stop()


@pytest.fixture
async def site(demo_hub: Hub, make_site: Callable[..., Awaitable[Site]]) -> Site:
    return await make_site(demo_hub)


async def follow_link(soup: Any) -> str:
    link = soup.select_one(".follow-link a")
    assert link is not None, "no follow-up link on the confirmation page"
    return str(link["href"])


# -- a good request ------------------------------------------------------------------------------------------
async def test_pdp_referral_by_the_worker_is_stored_routed_and_confirmed(site: Site) -> None:
    async with client() as http:
        token, key = await open_form(http, site.url + "/saisine-pdp")
        status, soup, html = await submit(http, site.url + "/saisine-pdp", pdp_worker(), csrf=token, envoi=key,
                                          fresh=False)
    assert status == 200, html
    reference = text_at(soup, ".reference")
    href = await follow_link(soup)
    assert href.startswith(f"/suivi/{reference}?t=")
    follow_token = href.split("?t=")[1]
    async with site.hub.db.session() as session:
        request, thread = (await session.execute(
            select(Request, Thread).join(Thread, Thread.id == Request.thread_id)
            .where(Request.source_key == f"form:{key}"))).one()
        doctor = await session.get(Practitioner, request.assigned_practitioner_id)
        consent = (await session.execute(
            select(ConsentRecord).where(ConsentRecord.request_id == request.id))).scalar_one()
    assert (request.event, request.requester_kind, thread.channel, thread.reference) == (
        "pdp-referral", "worker", "form", reference)
    assert doctor is not None and doctor.rpps == "10000000017"  # Boulangerie du Port → Dr Le Goff
    assert (consent.decision, consent.declared_by, consent.channel, consent.given_on) == (
        "permit", "worker", "web", TODAY.isoformat())
    assert thread.follow_up_digest == hashlib.sha256(follow_token.encode()).hexdigest()
    assert b"Durand" not in request.payload_enc and b"paule" not in request.payload_enc


async def test_pre_return_request_by_a_gp(site: Site) -> None:
    async with client() as http:
        status, soup, html = await submit(http, site.url + "/demande-pre-reprise", pre_return_gp())
    assert status == 200, html
    async with site.hub.db.session() as session:
        request = (await session.execute(select(Request).where(Request.source_key.like("form:%")))).scalar_one()
    assert (request.event, request.requester_kind, request.requester_rpps) == (
        "pre-return-visit-request", "gp", "10000000074")


# -- validation ---------------------------------------------------------------------------------------------
async def test_errors_are_named_next_to_the_field_and_input_is_kept(site: Site) -> None:
    fields = pdp_worker(worker_birth_date="31/02/1990", employer_siret="12345678901234", reason="",
                        requester_email="pas-une-adresse")
    async with client() as http:
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", fields)
    assert status == 422
    assert "date valide" in field_error(soup, "worker_birth_date")
    assert "SIRET" in field_error(soup, "employer_siret")
    assert "adresse électronique" in field_error(soup, "requester_email")
    assert "Décrivez" in field_error(soup, "reason")
    assert field_error(soup, "worker_family_name") == ""
    # the input is kept, the field points at its message, the summary links to the field
    assert value_of(soup, "worker_family_name") == "Durand"
    assert value_of(soup, "employer_siret") == "12345678901234"
    assert value_of(soup, "worker_birth_date") == "31/02/1990"
    assert value_of(soup, "stoppage_cause") == "illness"
    assert value_of(soup, "requester_kind") == "worker"
    siret = soup.find(id="f-employer_siret")
    assert siret is not None
    assert "e-employer_siret" in siret["aria-describedby"] and siret["aria-invalid"] == "true"
    links = [a["href"] for a in soup.select(".error-summary a")]
    assert "#f-employer_siret" in links and "#f-worker_birth_date" in links and "#f-reason" in links
    assert text_at(soup, "title").startswith("Erreur")
    assert await count_requests(site.hub) == 0


async def test_physicians_give_a_valid_rpps(site: Site) -> None:
    async with client() as http:
        status, soup, _ = await submit(http, site.url + "/demande-pre-reprise",
                                       pre_return_gp(requester_rpps="10000000075"))
        assert status == 422 and "RPPS" in field_error(soup, "requester_rpps")
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_worker(
            requester_kind="specialist", requester_name="Dr Rhumato", consent="oui",
            consent_date=TODAY.isoformat(), consent_channel="paper"))
        assert status == 422 and "RPPS" in field_error(soup, "requester_rpps")
    assert await count_requests(site.hub) == 0


async def test_employer_cannot_ask_for_pre_return_and_is_told_what_to_do(site: Site) -> None:
    async with client() as http:
        status, soup, _ = await submit(http, site.url + "/demande-pre-reprise",
                                       {"requester_kind": "employer", "requester_name": "RH Garage"})
    assert status == 422
    message = field_error(soup, "requester_kind")
    assert "ne peut pas demander" in message and "rendez-vous de liaison" in message
    assert "visite de reprise" in message and "informer le salarié" in message
    assert soup.select_one("#employeur") is not None  # the box of what the employer can do
    assert [a["href"] for a in soup.select(".error-summary a")] == ["#f-requester_kind"]  # nothing else asked
    assert await count_requests(site.hub) == 0


async def test_pre_return_refusals_explain_the_rule(site: Site) -> None:
    async with client() as http:
        status, soup, _ = await submit(http, site.url + "/demande-pre-reprise", pre_return_gp(
            stoppage_start=(TODAY - timedelta(days=9)).isoformat(), stoppage_end=""))
        assert status == 422 and "plus de 30 jours" in field_error(soup, "stoppage_start")
        assert "10 jours" in field_error(soup, "stoppage_start")
        status, soup, _ = await submit(http, site.url + "/demande-pre-reprise", pre_return_gp(
            stoppage_start=(TODAY - timedelta(days=90)).isoformat(),
            stoppage_end=(TODAY - timedelta(days=2)).isoformat()))
        assert status == 422 and "visite de reprise" in field_error(soup, "stoppage_end")
        status, soup, _ = await submit(http, site.url + "/demande-pre-reprise", pre_return_gp(
            stoppage_cause="maternity"))
        assert status == 422 and "maternité" in field_error(soup, "stoppage_cause")
    assert await count_requests(site.hub) == 0


async def test_third_party_declares_the_worker_consent(site: Site) -> None:
    async with client() as http:
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_employer(consent=""))
        assert status == 422 and "consentement" in field_error(soup, "consent")
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_employer(
            consent_date=(TODAY + timedelta(days=3)).isoformat()))
        assert status == 422 and "futur" in field_error(soup, "consent_date")
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_employer(consent_channel=""))
        assert status == 422 and "recueilli" in field_error(soup, "consent_channel")
        assert await count_requests(site.hub) == 0
        status, soup, html = await submit(http, site.url + "/saisine-pdp", pdp_employer())
        assert status == 200, html
    async with site.hub.db.session() as session:
        consent = (await session.execute(select(ConsentRecord).join(
            Request, Request.id == ConsentRecord.request_id).where(Request.source_key.like("form:%")))).scalar_one()
    assert (consent.declared_by, consent.channel, consent.given_on) == (
        "third-party", "oral", (TODAY - timedelta(days=1)).isoformat())


# -- abuse ----------------------------------------------------------------------------------------------------
async def test_csrf_token_is_required(site: Site) -> None:
    async with client() as http:
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_worker(), csrf="forged-token")
        assert status == 403 and "expiré" in text_at(soup, ".error-summary")
        assert value_of(soup, "worker_family_name") == "Durand"  # nothing lost on screen
        token, key = await open_form(http, site.url + "/saisine-pdp")
    async with client() as other:  # a valid token, but not this browser's cookie (cross-site forgery)
        status, _, _ = await submit(other, site.url + "/saisine-pdp", pdp_worker(), csrf=token, envoi=key,
                                    fresh=False)
        assert status == 403
    async with client() as http:
        token, key = await open_form(http, site.url + "/saisine-pdp")
        async with http.post(site.url + "/saisine-pdp", data={"csrf": token, "envoi": key, **pdp_worker()},
                             headers={"Origin": "https://evil.example"}) as resp:
            assert resp.status == 403
    assert await count_requests(site.hub) == 0


async def test_honeypot_filled_is_refused_and_nothing_stored(site: Site) -> None:
    async with client() as http:
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_worker(site_web="http://spam.example"))
        assert status == 400
        assert "Rien n'a été enregistré" in text_at(soup, ".error-summary")
        assert value_of(soup, "site_web") == ""
        page = await (await http.get(site.url + "/saisine-pdp")).text()
    assert 'class="hp"' in page and 'tabindex="-1"' in page
    assert await count_requests(site.hub) == 0


async def test_rate_limit_per_address(site: Site) -> None:
    async with client() as http:
        for i in range(10):
            status, _, html = await submit(http, site.url + "/saisine-pdp", pdp_worker(job=f"Poste {i}"))
            assert status == 200, html
        token, key = await open_form(http, site.url + "/saisine-pdp")
        async with http.post(site.url + "/saisine-pdp", data={"csrf": token, "envoi": key, **pdp_worker()}) as resp:
            assert resp.status == 429
            assert int(resp.headers["Retry-After"]) > 0
            assert "Trop de demandes" in await resp.text()
    assert await count_requests(site.hub) == 10


async def test_attachments_kept_encrypted_when_pdf_jpeg_png(site: Site) -> None:
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x01" * 100
    async with client() as http:
        status, _, html = await submit(http, site.url + "/saisine-pdp", pdp_worker(), files=[
            ("compte-rendu ../../etc.pdf", PDF, "application/pdf"), ("photo.jpeg", jpeg, "image/jpeg"),
            ("scan.png", PNG, "application/octet-stream")])
    assert status == 200, html
    async with site.hub.db.session() as session:
        rows = (await session.execute(select(Attachment))).scalars().all()
        opened = {await site.hub.sealer.open_text(session, a.data_key_id, "attachments", a.id, "filename",
                                                  a.filename_enc): a for a in rows}
    assert {a.content_type for a in rows} == {"application/pdf", "image/jpeg", "image/png"}
    assert set(opened) == {"etc.pdf", "photo.jpg", "scan.png"}  # no path, extension from the bytes
    assert all(b"compte" not in a.filename_enc and b"%PDF" not in a.content_enc for a in rows)


async def test_attachment_type_is_checked_by_its_bytes(site: Site) -> None:
    async with client() as http:
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_worker(), files=[
            ("faux.pdf", b"GIF89a" + b"\x00" * 50, "application/pdf"), ("ok.png", PNG, "image/png")])
    assert status == 422
    assert "n'est pas un fichier PDF, JPEG ou PNG" in field_error(soup, "pieces")
    assert "joignez-les à nouveau" in text_at(soup, ".notice")
    assert value_of(soup, "reason").startswith("Je voudrais")
    assert await count_requests(site.hub) == 0


async def test_pdf_with_active_content_is_refused_with_a_clear_message(site: Site) -> None:
    active = b"%PDF-1.4\n1 0 obj<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n%%EOF\n"
    async with client() as http:
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_worker(), files=[
            ("ordonnance.pdf", active, "application/pdf")])
    assert status == 422
    assert "« ordonnance.pdf » contient du contenu actif (JavaScript)" in field_error(soup, "pieces")
    assert await count_requests(site.hub) == 0


async def test_attachment_size_and_count_limits(demo_hub: Hub, make_site: Callable[..., Awaitable[Site]]) -> None:
    site = await make_site(demo_hub, forms_max_file_mb=1)
    big = PDF + b"0" * (1024 * 1024)
    async with client() as http:
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_worker(), files=[
            ("gros.pdf", big, "application/pdf")])
        assert status == 422 and "dépasse la taille maximale de 1 Mo" in field_error(soup, "pieces")
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_worker(), files=[
            (f"p{i}.png", PNG, "image/png") for i in range(4)])
        assert status == 422 and "3 fichiers au plus" in field_error(soup, "pieces")
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_worker(), files=[
            (f"p{i}.pdf", big, "application/pdf") for i in range(4)])
        assert status == 413 and "Rien n'a été enregistré" in soup.get_text()
    assert await count_requests(site.hub) == 0


async def test_double_submit_creates_one_request(site: Site) -> None:
    async with client() as http:
        token, key = await open_form(http, site.url + "/saisine-pdp")
        first, second = await asyncio.gather(*(
            submit(http, site.url + "/saisine-pdp", pdp_worker(), csrf=token, envoi=key, fresh=False)
            for _ in range(2)))
        third = await submit(http, site.url + "/saisine-pdp", pdp_worker(), csrf=token, envoi=key, fresh=False)
    pages = [first, second, third]
    assert [p[0] for p in pages] == [200, 200, 200]
    references = {text_at(p[1], ".reference") for p in pages}
    assert len(references) == 1
    assert sum("déjà été envoyée" in p[2] for p in pages) == 2
    assert await count_requests(site.hub) == 1


# -- follow-up ------------------------------------------------------------------------------------------------
async def test_follow_up_shows_status_only(site: Site) -> None:
    async with client() as http:
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_worker())
        href = await follow_link(soup)
        reference = href.split("/")[2].split("?")[0]
        async with site.hub.db.session() as session:
            thread_id = (await session.execute(
                select(Thread.id).where(Thread.reference == reference))).scalar_one()
        await site.hub.intake.add_message(MessageDraft(
            thread_id=thread_id, channel="inbox", source_key="note-1", author_label="Dr Le Goff",
            body="Note clinique : capsulite rétractile, infiltration prévue.", kind="note"), Actor("Dr Le Goff"))
        async with http.get(site.url + href) as resp:
            page = await resp.text()
            assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
        assert "Reçue" in page and reference in page
        for secret in ("capsulite", "infiltration", "épaule", "Durand", "Léa", "Boulangère"):
            assert secret not in page
        async with site.hub.db.session() as session, session.begin():
            await session.execute(update(Request).where(Request.thread_id == thread_id).values(status="on-hold"))
        async with http.get(site.url + href) as resp:
            assert "En attente d'informations" in BeautifulSoup(await resp.text(), "html.parser").get_text()
        for bad in (href[:-1] + ("A" if href[-1] != "A" else "B"), href.split("?")[0], href + "x",
                    "/suivi/GU-0000-0000" + href[href.index("?"):]):
            async with http.get(site.url + bad) as resp:
                assert resp.status == 404, bad
                assert "Lien de suivi inconnu" in await resp.text()
    async with site.hub.db.session() as session:
        reads = (await session.execute(select(AuditEvent).where(AuditEvent.action == "read",
                                                                AuditEvent.entity_type == "Task"))).scalars().all()
    assert len(reads) == 2 and all(r.source == "127.0.0.1" for r in reads)
    async with site.hub.db.session() as session:  # each wrong link is audited as a refusal
        refused = (await session.execute(select(AuditEvent).where(AuditEvent.outcome == "denied",
                                                                  AuditEvent.entity_type == "Thread"))).scalars().all()
    assert len(refused) == 4 and all("follow-up" in (r.detail or "") for r in refused)


async def test_employer_side_sees_practical_next_steps_only(site: Site) -> None:
    async with client() as http:
        status, soup, html = await submit(http, site.url + "/saisine-pdp", pdp_employer())
        assert status == 200 and "Aucune information médicale" in html
        async with http.get(site.url + await follow_link(soup)) as resp:
            page = await resp.text()
    assert "Aucune information médicale" in page and "rendez-vous de liaison" in page
    assert "charges lourdes" not in page and "Durand" not in page


async def test_confirmation_email_has_reference_and_link_but_no_health_data(site: Site) -> None:
    async with client() as http:
        status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_worker())
    href = await follow_link(soup)
    reference = text_at(soup, ".reference")
    async with site.hub.db.session() as session:
        items = (await session.execute(select(OutboxItem).where(OutboxItem.purpose == "confirmation"))).scalars()
        payloads = [await site.hub.outbox.payload(session, item) for item in items]
    assert len(payloads) == 1
    mail = payloads[0]
    assert mail["to"] == ["lea.durand@example.fr"] and reference in mail["subject"]
    assert f"{site.hub.settings.base_url}{href}" in mail["text"]
    for secret in ("Durand", "Léa", "épaule", "Boulangère", "04423065100018"):
        assert secret not in mail["text"] and secret not in mail["subject"]


async def test_no_email_without_address(site: Site) -> None:
    async with client() as http:
        status, _, _ = await submit(http, site.url + "/saisine-pdp", pdp_worker(requester_email="",
                                                                                requester_phone="06 12 34 56 78"))
    assert status == 200
    async with site.hub.db.session() as session:
        found = (await session.execute(select(OutboxItem).where(OutboxItem.purpose == "confirmation"))).first()
    assert found is None


# -- SIRET help, pages --------------------------------------------------------------------------------------
async def test_siret_help_lists_member_employers(site: Site) -> None:
    async with client() as http:
        async with http.get(site.url + "/saisine-pdp/employeurs", params={"nom": "garage martin"}) as resp:
            page = await resp.text()
        assert "06543219800011" in page and "06543219900019" in page
        async with http.get(site.url + "/saisine-pdp/employeurs", params={"nom": "GARAGE", "lieu": "44300"}) as resp:
            page = await resp.text()
        assert "06543219800011" in page and "06543219900019" not in page
        assert "/saisine-pdp?siret=06543219800011&amp;employeur=Garage%20Martin" in page
        async with http.get(site.url + "/demande-pre-reprise/employeurs",
                            params={"nom": "boulangerie", "lieu": "Nantes"}) as resp:
            page = await resp.text()
        assert "04423065100018" in page and "code postal" in page
        async with http.get(site.url + "/saisine-pdp/employeurs", params={"nom": "x"}) as resp:
            assert "au moins 2 lettres" in await resp.text()
        async with http.get(site.url + "/saisine-pdp", params={"siret": "06543219800011",
                                                               "employeur": "Garage Martin"}) as resp:
            page = await resp.text()
        assert 'value="06543219800011"' in page and 'value="Garage Martin"' in page


async def test_pages_have_no_inline_script_or_style_and_css_is_served(site: Site) -> None:
    async with client() as http:
        for path in ("/saisine-pdp", "/demande-pre-reprise", "/saisine-pdp/employeurs?nom=garage"):
            async with http.get(site.url + path) as resp:
                page = await resp.text()
                assert resp.status == 200
                assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
            assert "<script" not in page and "style=" not in page and "<style" not in page
        async with http.get(site.url + "/static/forms/forms.css") as resp:
            assert resp.status == 200 and resp.content_type == "text/css"


async def test_forms_with_every_connector(demo_hub: Hub, start_server: Callable[..., Awaitable[Any]]) -> None:
    server = await start_server(demo_hub)
    async with client() as http:
        status, soup, html = await submit(http, server.url + "/demande-pre-reprise", pre_return_gp())
        assert status == 200, html
        async with http.get(server.url + await follow_link(soup)) as resp:
            assert resp.status == 200
        async with http.get(server.url + "/static/forms/forms.css") as resp:
            assert resp.status == 200


async def test_origin_is_compared_by_host_behind_a_tls_proxy(site: Site) -> None:
    async with client() as http:
        token, key = await open_form(http, site.url + "/saisine-pdp")
        origin = "https://" + site.url.split("://")[1]  # the browser saw https; the proxy spoke http to us
        async with http.post(site.url + "/saisine-pdp", data={"csrf": token, "envoi": key, **pdp_worker()},
                             headers={"Origin": origin}) as resp:
            assert resp.status == 200
    assert await count_requests(site.hub) == 1


async def test_storage_failure_keeps_the_input_and_stores_nothing(site: Site) -> None:
    async with site.hub.db.session() as session, session.begin():
        await session.execute(text("ALTER TABLE audit_events RENAME TO audit_events_away"))
    try:
        async with client() as http:
            token, key = await open_form(http, site.url + "/saisine-pdp")
            status, soup, _ = await submit(http, site.url + "/saisine-pdp", pdp_worker(), csrf=token, envoi=key,
                                           fresh=False)
            assert status == 503 and "momentanément indisponible" in text_at(soup, ".error-summary")
            assert value_of(soup, "worker_family_name") == "Durand" and value_of(soup, "envoi") == key
    finally:
        async with site.hub.db.session() as session, session.begin():
            await session.execute(text("ALTER TABLE audit_events_away RENAME TO audit_events"))
    assert await count_requests(site.hub) == 0
