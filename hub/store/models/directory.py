"""The directory: the SPSTI's centres, teams, practitioners, member employers, CPTS/DAC and their communes.

Practitioners' and employers' names are professional data, not health data: they are stored in clear.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base

TEAM_KINDS = ("standard", "interim", "pdp", "triage")
PRACTITIONER_ROLES = ("mdt", "idest", "assistant", "gp", "medecin_conseil", "coordinator")
STRUCTURE_KINDS = ("cpts", "dac")


class Centre(Base):
    __tablename__ = "centres"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    commune_insee: Mapped[str | None] = mapped_column(String(5), index=True)


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="standard")


class Practitioner(Base):
    __tablename__ = "practitioners"
    id: Mapped[int] = mapped_column(primary_key=True)
    rpps: Mapped[str] = mapped_column(String(11), unique=True)
    family_name: Mapped[str] = mapped_column(String(120))
    given_name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    absent_until: Mapped[date | None] = mapped_column(Date)
    delegate_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    mssante: Mapped[str | None] = mapped_column(String(254))  # secure-mail address (directory or Annuaire Santé)
    mssante_source: Mapped[str | None] = mapped_column(String(10))  # "directory" (practitioners.csv) or "annuaire"

    @property
    def display_name(self) -> str:
        parts = ["Dr"] if self.role in ("mdt", "gp", "medecin_conseil") else []
        return " ".join([*parts, *(p for p in (self.given_name, self.family_name) if p)])


class Employer(Base):
    """A member employer (adhérent). ``active`` is False for a member that left or closed."""

    __tablename__ = "employers"
    id: Mapped[int] = mapped_column(primary_key=True)
    siret: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    naf: Mapped[str | None] = mapped_column(String(6))
    postcode: Mapped[str | None] = mapped_column(String(5))
    commune_insee: Mapped[str | None] = mapped_column(String(5))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    physician_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Structure(Base):
    """A CPTS or DAC."""

    __tablename__ = "structures"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))


class StructureCommune(Base):
    __tablename__ = "structure_communes"
    structure_id: Mapped[str] = mapped_column(ForeignKey("structures.id", ondelete="CASCADE"), primary_key=True)
    commune_insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    __table_args__ = (Index("ix_structure_communes_commune", "commune_insee"),)
