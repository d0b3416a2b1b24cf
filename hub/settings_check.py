"""Typed reading of settings, checked once at start-up: a bad value names the setting, in French.

Contract: each reader takes the ``guichet.toml`` values (``settings.extra``) and returns the typed value or the
default, or raises :class:`SettingError` whose message (French, for the administrator) names the setting and what
is expected. Connectors build their typed settings with these readers in ``check_settings`` — called by the
server before anything listens — so ``guichet serve`` stops with that message instead of failing later.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


class SettingError(ValueError):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"réglage « {name} » (GUICHET_{name.upper()} ou guichet.toml) : {problem}")
        self.name = name


def integer(values: Mapping[str, Any], name: str, default: int, minimum: int = 0,
            maximum: int | None = None) -> int:
    raw = values.get(name, default)
    try:
        value = int(str(raw).strip()) if not isinstance(raw, bool) else None
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bounds = f"entre {minimum} et {maximum}" if maximum is not None else f"supérieur ou égal à {minimum}"
        raise SettingError(name, f"un nombre entier {bounds} est attendu, pas « {str(raw)[:40]} »")
    return value


def number(values: Mapping[str, Any], name: str, default: float, minimum: float = 0.0) -> float:
    raw = values.get(name, default)
    try:
        value = float(str(raw).strip()) if not isinstance(raw, bool) else None
    except ValueError:
        value = None
    if value is None or value != value or value < minimum:
        raise SettingError(name, f"un nombre supérieur ou égal à {minimum:g} est attendu, pas « {str(raw)[:40]} »")
    return value


def boolean(values: Mapping[str, Any], name: str, default: bool) -> bool:
    raw = values.get(name, default)
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "oui", "on"):
        return True
    if text in ("0", "false", "no", "non", "off"):
        return False
    raise SettingError(name, f"true ou false est attendu, pas « {str(raw)[:40]} »")


def names(values: Mapping[str, Any], name: str) -> tuple[str, ...]:
    raw = values.get(name, ())
    if isinstance(raw, str):
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    if isinstance(raw, list | tuple) and all(isinstance(p, str) for p in raw):
        return tuple(raw)
    raise SettingError(name, "une liste de valeurs (ou une chaîne séparée par des virgules) est attendue")


def existing_file(values: Mapping[str, Any], name: str) -> Path | None:
    raw = values.get(name)
    if raw is None or raw == "":
        return None
    path = Path(str(raw)).expanduser()
    if not path.is_file():
        raise SettingError(name, f"le fichier « {path} » n'existe pas ou n'est pas lisible")
    return path
