"""What each inbox role may see and do: one table, read once at start-up.

Contract:
- ``ROLES`` are the account roles (DESIGN "Accounts"); ``RIGHTS`` the vocabulary of the table; ``DEFAULT_TABLE``
  the defaults (documented in ``docs/inbox.md``, whose table a test compares with this one).
- ``RightsTable.from_settings(settings)`` applies the ``[roles.<role>]`` sections of ``guichet.toml``
  (``rights = [...]`` replaces the role's rights, ``mfa = true|false`` its second factor) and raises
  :class:`RightsConfigError` (French) on an unknown role, an unknown right or a malformed value: the hub then
  refuses to start. ``table.rights(role)`` is a frozenset (empty for an unknown role: it can do nothing),
  ``table.needs_mfa(role)``, ``table.label(role)`` (French, for "who wrote this").
- ``close_right(outcome, business_status)`` names the right a closing needs: ``close-admin`` for an
  administrative closing (transmitted, cancelled, duplicate, withdrawn), ``close-medical`` for every other.
The PDP cell is a team kind, not a role: its members act with their own role's rights; the cell's requests reach
them "informed" (read only) through ``hub.inbox.access``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.config import Settings

ROLES = ("physician", "nurse", "assistant", "coordinator", "admin", "direction")
RIGHTS = {
    "see-requests": "voir les demandes de son périmètre (partie administrative : référence, statut, demandeur, "
                    "employeur, identité du salarié, dates)",
    "read-clinical": "lire la partie clinique (motif, messages, pièces jointes, cause de l'arrêt)",
    "triage": "voir et traiter la file de tri",
    "accept": "accepter une demande",
    "reply": "envoyer une réponse (clinique) à l'expéditeur",
    "ask-info": "demander des précisions à l'expéditeur",
    "reassign": "réaffecter une demande",
    "reroute": "réorienter une demande selon l'annuaire",
    "close-admin": "clore sans issue médicale (transmise, annulée, doublon, retirée)",
    "close-medical": "clore avec une issue médicale (traitée, réponse apportée, visite, PDP, refus)",
    "indicators": "consulter les indicateurs (sans donnée de santé)",
}
ACTION_RIGHTS = ("accept", "reply", "ask-info", "reassign", "reroute", "close-admin", "close-medical")
ADMIN_CLOSINGS = {("completed", "transmitted"), ("cancelled", "cancelled"), ("cancelled", "duplicate"),
                  ("cancelled", "withdrawn")}


@dataclass(frozen=True)
class RoleRights:
    label: str
    rights: frozenset[str]
    mfa: bool


def _r(*names: str) -> frozenset[str]:
    return frozenset(names)


_CARE = ("see-requests", "read-clinical", "accept", "reply", "ask-info", "reassign", "reroute", "close-admin")
DEFAULT_TABLE: Mapping[str, RoleRights] = {
    "physician": RoleRights("médecin du travail", _r(*_CARE, "close-medical"), mfa=True),
    "nurse": RoleRights("infirmier·e en santé au travail", _r(*_CARE), mfa=True),
    "assistant": RoleRights("assistant·e de l'équipe santé-travail",
                            _r("see-requests", "accept", "ask-info", "reassign", "reroute", "close-admin"), mfa=True),
    "coordinator": RoleRights("coordination du guichet",
                              _r("see-requests", "read-clinical", "triage", "ask-info", "reassign", "reroute",
                                 "close-admin"), mfa=True),
    "admin": RoleRights("administration du guichet", _r("indicators"), mfa=False),
    "direction": RoleRights("direction du service", _r("indicators"), mfa=False),
}


class RightsConfigError(ValueError):
    """A ``guichet.toml`` ``[roles]`` section the hub cannot run with (French message)."""


def close_right(outcome: str | None, business_status: str | None) -> str:
    return "close-admin" if (outcome, business_status or outcome) in ADMIN_CLOSINGS else "close-medical"


class RightsTable:
    def __init__(self, roles: Mapping[str, RoleRights]) -> None:
        self._roles = dict(roles)

    def rights(self, role: str) -> frozenset[str]:
        found = self._roles.get(role)
        return found.rights if found else frozenset()

    def can(self, role: str, right: str) -> bool:
        return right in self.rights(role)

    def needs_mfa(self, role: str) -> bool:
        found = self._roles.get(role)
        return True if found is None else found.mfa

    def label(self, role: str) -> str:
        found = self._roles.get(role)
        return found.label if found else role

    def rows(self) -> list[tuple[str, RoleRights]]:
        return [(role, self._roles[role]) for role in ROLES]

    @classmethod
    def from_settings(cls, settings: Settings) -> RightsTable:
        return cls.from_config(settings.extra.get("roles"))

    @classmethod
    def from_config(cls, section: Any) -> RightsTable:
        table = dict(DEFAULT_TABLE)
        if section is None:
            return cls(table)
        if not isinstance(section, Mapping):
            raise RightsConfigError("guichet.toml : [roles] doit être une table de rôles ([roles.nurse], …).")
        for role, values in section.items():
            where = f"guichet.toml : [roles.{role}]"
            if role not in table:
                raise RightsConfigError(f"{where} : rôle inconnu « {role} » (attendus : {', '.join(ROLES)}).")
            if not isinstance(values, Mapping):
                raise RightsConfigError(f"{where} doit être une table (rights = [...], mfa = true).")
            unknown_keys = set(values) - {"rights", "mfa"}
            if unknown_keys:
                raise RightsConfigError(f"{where} : clé inconnue « {sorted(unknown_keys)[0]} » (attendues : rights, "
                                        "mfa).")
            current = table[role]
            rights, mfa = current.rights, current.mfa
            if "rights" in values:
                given = values["rights"]
                if not isinstance(given, list) or not all(isinstance(v, str) for v in given):
                    raise RightsConfigError(f"{where} : rights doit être une liste de droits.")
                bad = [v for v in given if v not in RIGHTS]
                if bad:
                    raise RightsConfigError(f"{where} : droit ou action inconnu « {bad[0]} » (attendus : "
                                            f"{', '.join(RIGHTS)}).")
                rights = frozenset(given)
            if "mfa" in values:
                if not isinstance(values["mfa"], bool):
                    raise RightsConfigError(f"{where} : mfa doit valoir true ou false.")
                mfa = values["mfa"]
            table[role] = RoleRights(current.label, rights, mfa)
        return cls(table)


DEFAULT_RIGHTS = RightsTable(DEFAULT_TABLE)


@dataclass(frozen=True)
class SessionPolicy:
    """How long a web session lives: ``idle_minutes`` without a request (30), ``hours`` at most (8), and
    ``enrol_minutes`` for a session that may only set up its second factor (15). ``[sessions]`` in guichet.toml."""

    idle_minutes: int = 30
    hours: int = 8
    enrol_minutes: int = 15

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        section = settings.extra.get("sessions") or {}
        if not isinstance(section, Mapping):
            raise RightsConfigError("guichet.toml : [sessions] doit être une table (idle_minutes, hours).")
        values: dict[str, int] = {}
        for name, value in section.items():
            if name not in ("idle_minutes", "hours", "enrol_minutes"):
                raise RightsConfigError(f"guichet.toml : [sessions] : clé inconnue « {name} » (attendues : "
                                        "idle_minutes, hours, enrol_minutes).")
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise RightsConfigError(f"guichet.toml : [sessions] : {name} doit être un entier positif.")
            values[name] = value
        return cls(**values)
