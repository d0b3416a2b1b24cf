"""The small pieces of email intake, each on its own: extractors, quote stripping, loop classification,
charset fallbacks, FHIR Bundle reading (no database, no sockets)."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.smtp import extract
from connectors.smtp.bundle import read_bundle
from connectors.smtp.convert import source_key, strip_quoted
from connectors.smtp.loops import classify
from connectors.smtp.parse import html_to_text, parse_mail
from hub.config import load_settings

SETTINGS = load_settings({"GUICHET_ADDRESS": "guichet@spsti-test.fr", "GUICHET_CONFIG": "/nonexistent.toml"})


@pytest.mark.parametrize(("text", "siret"), [
    ("SIRET 044 230 651 00018", "04423065100018"),
    ("siret: 044.230.651.00018.", "04423065100018"),
    ("n° 04423065100019 (clé fausse)", None),
    ("tél 02 40 00 00 00", None),
])
def test_find_siret_checks_the_key(text: str, siret: str | None) -> None:
    assert extract.find_siret(text) == siret


def test_bad_siret_is_reported_for_triage() -> None:
    assert extract.find_bad_sirets("SIRET : 04423065100019") == ["04423065100019"]
    assert extract.find_bad_sirets("SIRET : 04423065100018") == []


@pytest.mark.parametrize(("text", "name", "town"), [
    ("Employeur : Garage Martin, à Saint-Herblain", "Garage Martin", "Saint-Herblain"),
    ("Il travaille chez Boulangerie du Port à Nantes depuis 2010.", "Boulangerie du Port", "Nantes"),
    ("salariée de la société Transports Loire.", "Transports Loire", None),
    ("L’employeur est Clinique des Lilas (SIRET 07894561200014)", "Clinique des Lilas", None),
    ("Aucune entreprise citée ici", None, None),
])
def test_find_employer(text: str, name: str | None, town: str | None) -> None:
    found = extract.find_employer(text)
    assert (found.name, found.town) == (name, town)


@pytest.mark.parametrize(("text", "family", "given", "born", "sex"), [
    ("Patiente : Mme Maëlle GUÉNOLÉ, née le 02/11/1991", "Guénolé", "Maëlle", date(1991, 11, 2), "female"),
    ("Je vous adresse M. KERBRAT Yannick, né le 14/03/78.", "Kerbrat", "Yannick", date(1978, 3, 14), "male"),
    ("pour Monsieur Jean Morvan qui", "Morvan", "Jean", None, "male"),
    ("Mon patient, M. Hugo LE ROUX, né(e) le 3.4.1979", "Le Roux", "Hugo", date(1979, 4, 3), "male"),
    ("Né le 31/02/1980", "", "", None, None),
])
def test_find_worker(text: str, family: str, given: str, born: date | None, sex: str | None) -> None:
    found = extract.find_worker(text)
    assert (found.family_name, found.given_names, found.birth_date, found.sex) == (family, given, born, sex)


def test_find_rpps_needs_the_word_and_a_valid_key() -> None:
    assert extract.find_rpps("Dr Lefèvre\nN° RPPS : 100 000 000 82") == "10000000082"
    assert extract.find_rpps("RPPS 10000000083") is None  # wrong Luhn key
    assert extract.find_rpps("Tél. 10000000082") is None  # not near "RPPS"


def test_stoppage_consent_and_event() -> None:
    assert extract.find_stoppage_start("en arrêt de travail depuis le 05/10/2025") == date(2025, 10, 5)
    assert extract.mentions_consent("Avec son accord, je vous écris")
    assert not extract.mentions_consent("Je vous écris")
    assert extract.find_event("visite de pré-reprise") == "pre-return-visit-request"
    assert extract.find_event("saisir la cellule PDP") == "pdp-referral"
    assert extract.find_event("un avis") == "coordination-request"


def test_strip_quoted_keeps_only_the_new_text() -> None:
    assert strip_quoted("Merci.\n\nLe 12/01/2026 à 10:00, Guichet a écrit :\n> ancien") == "Merci."
    assert strip_quoted("OK pour mardi\n-----Message d'origine-----\nDe : x") == "OK pour mardi"
    assert strip_quoted("Réponse\n> cité\n> cité") == "Réponse"
    assert strip_quoted("> tout est cité") == "> tout est cité"  # never empty


def raw(headers: str, body: str = "Bonjour") -> bytes:
    return (headers.strip() + "\r\n\r\n" + body + "\r\n").encode()


@pytest.mark.parametrize(("headers", "mail_from", "expected"), [
    ("From: dr@x.fr\nMessage-ID: <a@x.fr>", "dr@x.fr", "normal"),
    ("From: dr@x.fr\nAuto-Submitted: no", "dr@x.fr", "normal"),
    ("From: dr@x.fr\nAuto-Submitted: auto-replied", "dr@x.fr", "auto"),
    ("From: dr@x.fr\nPrecedence: junk", "dr@x.fr", "auto"),
    ("From: list@x.fr\nList-Id: <l.x.fr>", "list@x.fr", "auto"),
    ("From: dr@x.fr", "<>", "auto"),
    ("From: MAILER-DAEMON@x.fr", "<>", "bounce"),
    ("From: guichet@spsti-test.fr", "guichet@spsti-test.fr", "own"),
    ("From: dr@x.fr\nMessage-ID: <ack.1@spsti-test.fr>", "dr@x.fr", "own"),
])
def test_loop_classification(headers: str, mail_from: str, expected: str) -> None:
    assert classify(parse_mail(raw(headers)), mail_from, SETTINGS) == expected


def test_charsets_fall_back_sensibly() -> None:
    cp1252 = b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nl\x92entreprise \x80\r\n"
    assert parse_mail(cp1252).text == "l’entreprise €"
    undeclared = b"Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\nn\xc3\xa9 le\r\n"
    assert parse_mail(undeclared).text == "né le"
    bogus = b"Content-Type: text/plain; charset=x-unknown\r\n\r\nd\xe9j\xe0\r\n"
    assert parse_mail(bogus).text == "déjà"


def test_garbage_never_raises_and_source_keys_are_stable() -> None:
    for data in (b"", b"\x00\xff\xfe garbage", b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n"):
        mail = parse_mail(data)
        assert isinstance(mail.text, str)
    a = parse_mail(raw("From: Dr <DR@X.FR>\nMessage-ID: <a@x.fr>"))
    b = parse_mail(raw("From: dr@x.fr\nMessage-ID: <a@x.fr>", "autre corps"))
    assert source_key(a, "dr@x.fr", b"1") == source_key(b, "other@y.fr", b"2")
    no_id = parse_mail(raw("From: dr@x.fr"))
    assert source_key(no_id, "", b"1") != source_key(no_id, "", b"2")


def test_html_to_text_drops_scripts_and_keeps_structure() -> None:
    text = html_to_text("<style>p{}</style><script>x()</script><p>Un</p><p>Deux<br>Trois</p>"
                        "<table><tr><td>A</td><td>B</td></tr></table>")
    assert text.splitlines() == ["Un", "Deux", "Trois", "A B"]


def test_bundle_without_event_or_employer_says_so() -> None:
    facts = read_bundle({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient",
                                                                          "name": [{"family": "X"}]}}]})
    assert facts.worker is not None and facts.worker.family_name == "X"
    assert any("événement" in p for p in facts.problems) and any("SIRET" in p for p in facts.problems)
    assert read_bundle({"resourceType": "Bundle", "entry": "nonsense"}).problems
