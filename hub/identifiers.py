"""Checks of the national identifiers the hub handles: SIRET, RPPS, NIR (INS), INSEE commune codes.

Each ``check_*`` returns ``None`` when the value is valid, else a short English reason; ``*_fr`` variants of the
messages live with the user-facing layers.
"""

from __future__ import annotations

import re

LA_POSTE_SIREN = "356000000"


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def clean_digits(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value or "")


def check_siret(value: str) -> str | None:
    v = clean_digits(value)
    if not v.isdigit() or len(v) != 14:
        return "a SIRET has 14 digits"
    if v.startswith(LA_POSTE_SIREN):  # La Poste's establishments use a sum-of-digits key
        return None if sum(int(c) for c in v) % 5 == 0 else "SIRET check key is wrong"
    return None if luhn_ok(v) else "SIRET check key is wrong (Luhn)"


def check_rpps(value: str) -> str | None:
    v = clean_digits(value)
    if not v.isdigit() or len(v) != 11:
        return "an RPPS number has 11 digits"
    return None if luhn_ok(v) else "RPPS check key is wrong (Luhn)"


def check_nir(value: str) -> str | None:
    """A NIR/NIA: 13 characters (digits, 2A/2B for Corsica) and a 2-digit key = 97 - (number mod 97)."""
    v = clean_digits(value).upper()
    if len(v) != 15:
        return "an INS (NIR/NIA) has 15 characters including its 2-digit key"
    body, key = v[:13], v[13:]
    body = body.replace("2A", "19", 1) if body[5:7] == "2A" else body
    body = body.replace("2B", "18", 1) if body[5:7] == "2B" else body
    if not body.isdigit() or not key.isdigit():
        return "an INS has only digits (and 2A/2B for Corsica)"
    return None if 97 - int(body) % 97 == int(key) else "INS check key is wrong"


def check_insee_commune(value: str) -> str | None:
    v = (value or "").strip().upper()
    return None if re.fullmatch(r"(\d{5}|2[AB]\d{3})", v) else "an INSEE commune code has 5 characters"


def with_luhn_key(prefix: str) -> str:
    """Append the Luhn check digit to ``prefix`` (used to make demo and test identifiers)."""
    for d in "0123456789":
        if luhn_ok(prefix + d):
            return prefix + d
    raise AssertionError("unreachable")


def find_sirets(text: str) -> list[str]:
    """Every valid SIRET written in ``text`` (spaces allowed between digit groups), in order, unique."""
    found: list[str] = []
    for m in re.finditer(r"(?<!\d)(\d[\d .]{12,20}\d)(?!\d)", text):
        digits = re.sub(r"\D", "", m.group(1))
        if len(digits) == 14 and check_siret(digits) is None and digits not in found:
            found.append(digits)
    return found
