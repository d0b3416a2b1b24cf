"""Fast unit tests of the forms' parts that need no server: client address, file sniffing,
field parsing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from aiohttp.test_utils import make_mocked_request

from connectors.forms.fields import PDP, PRE_RETURN, build_draft, html_name, parse_date
from connectors.forms.guard import CsrfGuard, client_address
from connectors.forms.uploads import safe_filename, sniff
from tests.forms_helpers import TODAY, pdp_employer, pdp_worker, pre_return_gp


def test_client_address_trusts_only_configured_proxies() -> None:
    req = make_mocked_request("POST", "/saisine-pdp", headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
    assert client_address(req) == "unknown"  # a mocked request has no peer address
    assert client_address(req, ["192.0.2.1"]) == "unknown"
    assert client_address(req, ["unknown"]) == "198.51.100.7"  # the proxy's own view, not the client's claim


def test_csrf_token_is_bound_to_the_cookie() -> None:
    guard = CsrfGuard(b"k" * 32, secure=False)
    cookies: dict[str, str] = {}
    token = guard.token_for(make_mocked_request("GET", "/saisine-pdp"), cookies)
    value = cookies["guichet_formulaire"]
    good = make_mocked_request("POST", "/saisine-pdp", headers={"Cookie": f"guichet_formulaire={value}"})
    assert guard.check(good, token)
    assert not guard.check(good, token[:-1] + ("0" if token[-1] != "0" else "1"))
    other = make_mocked_request("POST", "/saisine-pdp", headers={"Cookie": "guichet_formulaire=" + "x" * 43})
    assert not guard.check(other, token)
    assert not CsrfGuard(b"j" * 32, secure=False).check(good, token)  # another key store


@pytest.mark.parametrize(("content", "kind"), [
    (b"%PDF-1.7 ...", "application/pdf"), (b"\xff\xd8\xff\xdb...", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n...", "image/png"), (b"GIF89a", None), (b"<html>", None), (b"", None),
    (b"PK\x03\x04", None)])
def test_sniff_by_magic_bytes(content: bytes, kind: str | None) -> None:
    found = sniff(content)
    assert (found[0] if found else None) == kind


def test_safe_filename() -> None:
    assert safe_filename("../../etc/passwd.pdf", ".pdf") == "passwd.pdf"
    assert safe_filename("C:\\Users\\x\\Compte rendu (1).exe", ".pdf") == "Compte rendu (1).pdf"
    assert safe_filename("", ".png") == "piece-jointe.png"
    assert safe_filename("<script>.jpg", ".jpg") == "_script_.jpg"


def test_parse_date_accepts_both_formats() -> None:
    assert parse_date("2026-05-01") == parse_date("01/05/2026") == parse_date("1.5.2026") == date(2026, 5, 1)
    with pytest.raises(ValueError):
        parse_date("31/02/2026")


def test_html_name_of_violation_fields() -> None:
    assert html_name("stoppage.start") == "stoppage_start" and html_name("consent") == "consent"


def test_worker_draft() -> None:
    draft, errors = build_draft(PDP, pdp_worker(), [], TODAY, "k1")
    assert errors == {} and draft is not None
    assert (draft.event, draft.channel, draft.source_key, draft.requester.kind) == (
        "pdp-referral", "form", "form:k1", "worker")
    assert draft.requester.name == "Léa Durand"
    assert draft.consent is not None and (draft.consent.declared_by, draft.consent.given_on) == ("worker", TODAY)
    assert draft.requester.email == "lea.durand@example.fr" and draft.acknowledge and draft.trust == "form"


def test_worker_without_arret() -> None:
    draft, errors = build_draft(PDP, pdp_worker(stoppage_has="non", stoppage_start="garbage"), [], TODAY, "k")
    assert errors == {} and draft is not None and draft.stoppage is None


def test_third_party_draft_and_partner() -> None:
    draft, errors = build_draft(PDP, pdp_employer(), [], TODAY, "k")
    assert errors == {} and draft is not None and draft.consent is not None
    assert draft.consent.declared_by == "third-party" and draft.requester.rpps is None
    draft, errors = build_draft(PDP, pdp_employer(requester_kind="partner", requester_organisation=""), [], TODAY,
                                "k")
    assert "requester_partner" in errors
    draft, errors = build_draft(PDP, pdp_employer(requester_kind="partner", requester_organisation="",
                                                  requester_partner="cap_emploi"), [], TODAY, "k")
    assert errors == {} and draft is not None and draft.requester.organisation == "Cap emploi"


def test_contact_and_employer_required() -> None:
    _, errors = build_draft(PDP, pdp_worker(requester_email="", requester_phone="", employer_siret=""), [], TODAY,
                            "k")
    assert set(errors) == {"requester_email", "employer_siret"}
    draft, errors = build_draft(PDP, pdp_worker(employer_siret="", employer_name="Garage Martin",
                                                employer_town="44300"), [], TODAY, "k")
    assert errors == {} and draft is not None and draft.employer is not None
    assert (draft.employer.siret, draft.employer.postcode) == (None, "44300")


def test_ins_is_checked_and_marked_unverified() -> None:
    _, errors = build_draft(PDP, pdp_worker(worker_ins="2911122A01234"), [], TODAY, "k")
    assert "worker_ins" in errors
    draft, errors = build_draft(PDP, pdp_worker(worker_ins="1 85 05 78 006 084 91"), [], TODAY,
                                "k")
    assert errors == {} and draft is not None and draft.extra["ins_status"] == "declared-unverified"


def test_law_errors_land_on_their_fields() -> None:
    _, errors = build_draft(PRE_RETURN, pre_return_gp(
        stoppage_start=(TODAY - timedelta(days=5)).isoformat(), stoppage_end="",
        consent_date=(TODAY + timedelta(days=1)).isoformat()), [], TODAY, "k")
    assert set(errors) == {"stoppage_start", "consent_date"}
    _, errors = build_draft(PRE_RETURN, pre_return_gp(requester_kind="employer"), [], TODAY, "k")
    assert list(errors) == ["requester_kind"]


def test_an_empty_form_lists_every_missing_field_at_once() -> None:
    _, errors = build_draft(PDP, {}, [], TODAY, "k")
    assert set(errors) == {"requester_kind", "requester_email", "worker_family_name", "worker_given_names",
                           "worker_birth_date", "employer_siret", "stoppage_has", "reason"}
    _, errors = build_draft(PRE_RETURN, {}, [], TODAY, "k")
    assert set(errors) == {"requester_kind", "requester_email", "worker_family_name", "worker_given_names",
                           "worker_birth_date", "employer_siret", "stoppage_start", "stoppage_cause"}
