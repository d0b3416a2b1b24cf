"""One CSV line → the column values of one directory row, or a :class:`RowError` saying what is wrong.

The CSV formats are documented in the README ("Directory import"); the example folder is ``schemas/directory``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hub.identifiers import check_insee_commune, check_rpps, check_siret, clean_digits
from hub.store.models.directory import PRACTITIONER_ROLES, STRUCTURE_KINDS, TEAM_KINDS

FILES = ("centres", "teams", "practitioners", "employers", "structures")
COLUMNS = {
    "centres": ("code", "name", "commune_insee"),
    "teams": ("code", "centre", "name", "kind"),
    "practitioners": ("rpps", "family_name", "given_name", "email", "role", "team", "absent_until",
                      "delegate_rpps"),
    "employers": ("siret", "name", "naf", "postcode", "commune_insee", "team", "physician_rpps"),
    "structures": ("id", "name", "kind", "communes"),
}
# optional columns: absent from a file, the stored values are kept; exported always
OPTIONAL = {"practitioners": ("mssante",)}


class RowError(ValueError):
    pass


def _required(raw: dict[str, str], column: str) -> str:
    value = raw.get(column, "")
    if not value:
        raise RowError(f"{column} is empty")
    return value


def _commune(value: str, column: str) -> str | None:
    if not value:
        return None
    problem = check_insee_commune(value)
    if problem:
        raise RowError(f"{column} '{value}': {problem}")
    return value.upper()


def _ref(lookup: dict[str, Any], kind: str, value: str, column: str) -> int | None:
    if not value:
        return None
    found = lookup[kind].get(value)
    if found is None:
        raise RowError(f"{column} '{value}' is not in the directory")
    return int(found)


def parse_row(name: str, raw: dict[str, str], lookup: dict[str, Any]) -> dict[str, Any]:
    missing = [c for c in COLUMNS[name] if c not in raw]
    if missing:
        raise RowError(f"missing column(s): {', '.join(missing)}")
    return PARSERS[name](raw, lookup)


def _centre(raw: dict[str, str], lookup: dict[str, Any]) -> dict[str, Any]:
    code = _required(raw, "code")
    return {"_key": code, "code": code, "name": _required(raw, "name"),
            "commune_insee": _commune(raw["commune_insee"], "commune_insee")}


def _team(raw: dict[str, str], lookup: dict[str, Any]) -> dict[str, Any]:
    code, kind = _required(raw, "code"), raw.get("kind") or "standard"
    if kind not in TEAM_KINDS:
        raise RowError(f"kind '{kind}' is not one of {', '.join(TEAM_KINDS)}")
    return {"_key": code, "code": code, "name": _required(raw, "name"), "kind": kind,
            "centre_id": _ref(lookup, "centre", raw["centre"], "centre")}


def _practitioner(raw: dict[str, str], lookup: dict[str, Any]) -> dict[str, Any]:
    rpps = clean_digits(_required(raw, "rpps"))
    problem = check_rpps(rpps)
    if problem:
        raise RowError(f"rpps '{raw['rpps']}': {problem}")
    role = _required(raw, "role")
    if role not in PRACTITIONER_ROLES:
        raise RowError(f"role '{role}' is not one of {', '.join(PRACTITIONER_ROLES)}")
    absent: date | None = None
    if raw["absent_until"]:
        try:
            absent = date.fromisoformat(raw["absent_until"])
        except ValueError as exc:
            raise RowError(f"absent_until '{raw['absent_until']}' is not a date (YYYY-MM-DD)") from exc
    delegate = clean_digits(raw["delegate_rpps"])
    if delegate:
        problem = check_rpps(delegate)
        if problem:
            raise RowError(f"delegate_rpps '{raw['delegate_rpps']}': {problem}")
        if delegate == rpps:
            raise RowError("delegate_rpps is the practitioner themself")
    email = raw["email"].lower() or None
    if email and "@" not in email:
        raise RowError(f"email '{raw['email']}' is not an address")
    row = {"_key": rpps, "_delegate_rpps": delegate or None, "rpps": rpps,
           "family_name": _required(raw, "family_name"), "given_name": raw["given_name"], "email": email,
           "role": role, "team_id": _ref(lookup, "team", raw["team"], "team"), "absent_until": absent}
    if "mssante" in raw:
        row["mssante"] = mssante_address(raw["mssante"])
        row["mssante_source"] = "directory" if row["mssante"] else None
    return row


def mssante_address(value: str) -> str | None:
    """The optional ``mssante`` column: a secure-mail address (``…@….mssante.fr`` and operators' own domains)."""
    address = value.strip().lower() or None
    if address and (address.count("@") != 1 or "." not in address.rpartition("@")[2] or " " in address):
        raise RowError(f"mssante '{value}' is not an address")
    return address


def _employer(raw: dict[str, str], lookup: dict[str, Any]) -> dict[str, Any]:
    siret = clean_digits(_required(raw, "siret"))
    problem = check_siret(siret)
    if problem:
        raise RowError(f"siret '{raw['siret']}': {problem}")
    naf = raw["naf"].replace(".", "").upper() or None
    if naf and not (len(naf) == 5 and naf[:4].isdigit() and naf[4].isalpha()):
        raise RowError(f"naf '{raw['naf']}' is not a NAF code (4 digits and a letter, e.g. 7820Z)")
    postcode = raw["postcode"] or None
    if postcode and not (len(postcode) == 5 and postcode[:2].isalnum() and postcode[2:].isdigit()):
        raise RowError(f"postcode '{postcode}' has not 5 characters")
    physician = clean_digits(raw["physician_rpps"])
    return {"_key": siret, "siret": siret, "name": _required(raw, "name"), "naf": naf, "postcode": postcode,
            "commune_insee": _commune(raw["commune_insee"], "commune_insee"),
            "team_id": _ref(lookup, "team", raw["team"], "team"),
            "physician_id": _ref(lookup, "practitioner", physician, "physician_rpps"),
            "active": _active(raw.get("active", ""))}


ACTIVE_VALUES = {"": True, "1": True, "true": True, "oui": True, "yes": True,
                 "0": False, "false": False, "non": False, "no": False}


def _active(value: str) -> bool:
    """The optional ``active`` column of employers.csv: empty or absent means a current member."""
    flag = ACTIVE_VALUES.get(value.strip().lower())
    if flag is None:
        raise RowError(f"active '{value}' is not one of oui/non, 1/0, true/false (empty: oui)")
    return flag


def _structure(raw: dict[str, str], lookup: dict[str, Any]) -> dict[str, Any]:
    ident, kind = _required(raw, "id"), _required(raw, "kind")
    if kind not in STRUCTURE_KINDS:
        raise RowError(f"kind '{kind}' is not one of {', '.join(STRUCTURE_KINDS)}")
    communes = [c.strip() for c in raw["communes"].split("|") if c.strip()]
    for c in communes:
        _commune(c, "communes")
    return {"_key": ident, "_communes": sorted(set(c.upper() for c in communes)), "id": ident,
            "name": _required(raw, "name"), "kind": kind}


PARSERS = {"centres": _centre, "teams": _team, "practitioners": _practitioner, "employers": _employer,
           "structures": _structure}
