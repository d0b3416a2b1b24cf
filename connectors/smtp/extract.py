"""Small extractors that read what routing needs out of a GP's free text (French).

Each function takes the text and returns what it found, or ``None``/an empty list; none of them raises.
- ``find_siret(text)``: the first SIRET whose check key is right (``hub.identifiers.find_sirets``).
- ``find_employer(text)``: employer name and town ("employeur : …", "travaille chez …", "société …").
- ``find_worker(text)``: family and given names ("patient(e) : M. X Y", "pour Mme X Y") and birth date
  ("né(e) le 12/03/1978").
- ``find_rpps(text)``: an 11-digit RPPS with a valid Luhn key written near "RPPS".
- ``find_stoppage_start(text)``: "en arrêt (de travail) depuis le 12/01/2026".
- ``mentions_consent(text)``: the GP states the worker agreed ("avec son accord", "consentement").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from hub.identifiers import check_rpps, find_sirets

DATE = r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})"
NAME_WORD = r"[A-ZÀ-ÖØ-Þ][A-Za-zÀ-ÖØ-öø-ÿ'\-]+"
UPPER_WORD = r"[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ'\-]+"
STOP_WORDS = {"le", "la", "les", "de", "du", "des", "à", "a", "au", "en", "et", "est", "qui", "pour", "dont",
              "depuis", "né", "née", "sur", "avec", "chez", "siret", "n", "numéro", "son", "sa"}


@dataclass(frozen=True)
class EmployerFound:
    name: str | None = None
    town: str | None = None


@dataclass(frozen=True)
class WorkerFound:
    family_name: str = ""
    given_names: str = ""
    birth_date: date | None = None
    sex: str | None = None


def parse_date(day: str, month: str, year: str) -> date | None:
    y = int(year)
    if y < 100:
        y += 1900 if y > 30 else 2000
    try:
        return date(y, int(month), int(day))
    except ValueError:
        return None


def find_siret(text: str) -> str | None:
    found = find_sirets(text)
    return found[0] if found else None


def _clean_name(value: str) -> str | None:
    value = re.split(r"\s*(?:[,;:()\n]|\bà\b|\bsis\b|\bsituée?\b|\bSIRET\b|\bsiret\b|\(|\s-\s)", value)[0]
    value = re.sub(r"[.\s]+$", "", value.strip())
    words = value.split()
    while words and words[-1].lower() in STOP_WORDS:
        words.pop()
    value = " ".join(words[:6])
    return value if len(value) >= 2 else None


def find_employer(text: str) -> EmployerFound:
    name = town = None
    patterns = (
        r"(?i)\b(?:employeur|entreprise|raison sociale)\s*(?::|est)\s*(?:la société\s+|l'entreprise\s+)?"
        r"(?P<name>[^\n]+)",
        r"(?i)\btravaille\s+(?:chez|pour|à la société|dans l'entreprise|au sein de)\s+(?P<name>[^\n,.;]+)",
        r"(?i)\b(?:employée?|salariée?)\s+(?:chez|de la société|de l'entreprise|par|de|à)\s+"
        r"(?:la |le |l'|les )?(?P<name>[A-ZÀ-Þ][^\n,.;]+)",
        r"(?i)\bsociété\s+(?P<name>[A-ZÀ-Þ0-9][^\n,.;]+)",
    )
    for pattern in patterns:
        m = re.search(pattern, text)
        if m:
            name = _clean_name(m.group("name"))
            if name:
                tail = text[m.end("name") - len(m.group("name")) + len(name):][:80]
                t = re.match(r"\s*(?:,\s*)?(?:à|sise à|situé[e]? à|-)\s+(?P<town>" + NAME_WORD +
                             r"(?:[\s\-](?:(?:sur|sous|en|de|la|le|lès|les)[\s\-])?" + NAME_WORD + r")*)", tail)
                if t:
                    town = t.group("town").strip()
                break
    if town is None:
        m = re.search(r"(?im)^\s*(?:ville|commune|lieu de travail)\s*:\s*(?P<town>[^\n,;]+)", text)
        if m:
            town = m.group("town").strip()
    return EmployerFound(name, town)


def find_worker(text: str) -> WorkerFound:
    family = given = ""
    sex: str | None = None
    civility = r"(?P<civ>M\.|Mr\.?|Monsieur|Mme\.?|Madame|Mlle)\s+(?P<rest>[^\n,;(]+)"
    m = re.search(r"(?i)\b(?:patient(?:e)?|salarié(?:e)?|concernant|pour|au sujet de|adresse|assurée?)\s*[:,]?\s*"
                  + civility, text) or re.search(r"(?<![\w.])" + civility, text)
    if m:
        civ = m.group("civ").lower()
        sex = "female" if civ.startswith(("mme", "madame", "mlle")) else "male"
        raw_words = [w.strip(".,;:") for w in m.group("rest").split()][:4]
        words = []
        for w in raw_words:
            if not (re.fullmatch(NAME_WORD, w) or re.fullmatch(UPPER_WORD, w)):
                break
            if not w.isupper() and w.lower() in STOP_WORDS:
                break
            words.append(w)
        upper = [w for w in words if w.isupper() and len(w) > 1]
        if upper:  # "Mme Maëlle GUÉNOLÉ" or "M. KERBRAT Yannick": the capitals are the family name
            family = " ".join(upper).title()
            given = " ".join(w for w in words if w not in upper)
        elif len(words) >= 2:  # "M. Yannick Kerbrat": given name first
            given, family = words[0], " ".join(words[1:3])
        elif words:
            family = words[0]
    birth: date | None = None
    b = re.search(r"(?i)\bn[ée]+(?:\(e\))?\s+le\s+" + DATE, text)
    if b:
        birth = parse_date(*b.groups())
    return WorkerFound(family, given, birth, sex)


def find_rpps(text: str) -> str | None:
    for m in re.finditer(r"(?i)\bRPPS\b", text):
        window = text[max(0, m.start() - 40): m.end() + 60]
        for cand in re.finditer(r"(?<!\d)(\d[\d ]{9,14}\d)(?!\d)", window):
            digits = re.sub(r"\D", "", cand.group(1))
            if len(digits) == 11 and check_rpps(digits) is None:
                return digits
    return None


def find_stoppage_start(text: str) -> date | None:
    m = re.search(r"(?i)\ben arr[êe]t(?: de travail| maladie)?\s+depuis\s+le\s+" + DATE, text)
    return parse_date(*m.groups()) if m else None


def mentions_consent(text: str) -> bool:
    return bool(re.search(r"(?i)\b(avec son accord|avec l'accord d[eu]|son consentement|consent(?:ement)? "
                          r"(?:du|de la) (?:patient|salarié)|l'intéressée? (?:est|a été) d'accord|"
                          r"a donné son accord)", text))


def find_event(text: str) -> str:
    """The kind of request the text asks for: pré-reprise, PDP, else a coordination request."""
    if re.search(r"(?i)\bpr[ée][\s\-]?reprise\b", text):
        return "pre-return-visit-request"
    if re.search(r"(?i)(\bPDP\b|pr[ée]vention de la d[ée]sinsertion|cellule de maintien)", text):
        return "pdp-referral"
    return "coordination-request"


def find_bad_sirets(text: str) -> list[str]:
    """14-digit numbers written after "SIRET" whose check key is wrong (a typo worth telling triage)."""
    out = []
    for m in re.finditer(r"(?i)\bSIRET\b\D{0,15}(\d[\d .]{12,20}\d)", text):
        digits = re.sub(r"\D", "", m.group(1))
        if len(digits) == 14 and digits not in find_sirets(digits):
            out.append(digits)
    return out
