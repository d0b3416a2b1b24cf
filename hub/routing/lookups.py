"""Directory queries shared by the routing rules.

Every query that may return several rows orders them by primary key, so that ties are always broken the same
way (routing must be deterministic: never dict, set or database-scan order). Answers are remembered for the
session (``session.info``): intake routes a whole group commit in one transaction, and drafts of one batch often
name the same employer, so the directory is read once per batch, never across transactions (no staleness).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crypto.lookup import normalise_text
from hub.store.models import Centre, Employer, Practitioner, Structure, Team

MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")


def _memo(session: AsyncSession, name: str) -> dict[Any, Any]:
    memo: dict[Any, Any] = session.info.setdefault(f"routing.{name}", {})
    return memo


async def employer_by_siret(session: AsyncSession, siret: str) -> Employer | None:
    """The employer with this SIRET, member or former member (``active`` says which)."""
    memo = _memo(session, "employer_by_siret")
    if siret not in memo:
        memo[siret] = (await session.execute(select(Employer).where(Employer.siret == siret))).scalar_one_or_none()
    found: Employer | None = memo[siret]
    return found


async def employers_by_name(session: AsyncSession, name: str, postcode: str | None, commune: str | None,
                            active: bool = True) -> list[Employer]:
    """Employers whose normalised name equals ``name``'s, narrowed by postcode and commune when given."""
    key = normalise_text(name)
    if not key:
        return []
    query = select(Employer).where(Employer.name_key == key, Employer.active.is_(active))
    if postcode:
        query = query.where(Employer.postcode == postcode.strip())
    if commune:
        query = query.where(Employer.commune_insee == commune.strip().upper())
    return list((await session.execute(query.order_by(Employer.id))).scalars())


async def practitioner(session: AsyncSession, practitioner_id: int | None) -> Practitioner | None:
    return None if practitioner_id is None else await session.get(Practitioner, practitioner_id)


async def team(session: AsyncSession, team_id: int | None) -> Team | None:
    return None if team_id is None else await session.get(Team, team_id)


async def team_of_kind(session: AsyncSession, kind: str, near_team_id: int | None = None) -> Team | None:
    """A team of ``kind``: the one of the same centre as ``near_team_id`` when there is one, else the first."""
    near = await team(session, near_team_id)
    if near is not None and near.kind == kind:
        return near
    memo = _memo(session, "teams_of_kind")
    if kind not in memo:
        memo[kind] = list((await session.execute(select(Team).where(Team.kind == kind).order_by(Team.id))).scalars())
    teams: list[Team] = memo[kind]
    if near is not None and near.centre_id is not None:
        for candidate in teams:
            if candidate.centre_id == near.centre_id:
                return candidate
    return teams[0] if teams else None


async def structure(session: AsyncSession, structure_id: str | None) -> Structure | None:
    return None if not structure_id else await session.get(Structure, structure_id)


async def centre_team_for_commune(session: AsyncSession, commune: str) -> tuple[Centre, Team] | None:
    """The first centre located in ``commune`` that has a standard team, with that team (lowest ids)."""
    rows = (await session.execute(
        select(Centre, Team).join(Team, Team.centre_id == Centre.id)
        .where(Centre.commune_insee == commune.strip().upper(), Team.kind == "standard")
        .order_by(Centre.id, Team.id).limit(1))).first()
    return (rows[0], rows[1]) if rows is not None else None


def date_fr(value: date) -> str:
    """``2027-01-15`` → ``15 janvier 2027`` (no locale: the same text on every machine)."""
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS_FR[value.month - 1]} {value.year}"


def person_name(person: Practitioner) -> str:
    """``Dr Anne Le Goff`` (single spaces even when the given name is empty)."""
    return " ".join(person.display_name.split())


def employer_label(employer: Employer) -> str:
    """``l'employeur SIRET 12345678900012 (Nom)``."""
    return f"l'employeur SIRET {employer.siret} ({employer.name})"


def employer_facts(employer: Employer) -> dict[str, object]:
    return {"employer_id": employer.id, "siret": employer.siret, "employer": employer.name,
            "naf": employer.naf, "postcode": employer.postcode, "commune": employer.commune_insee,
            "active": employer.active}
