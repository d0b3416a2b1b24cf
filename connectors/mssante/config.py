"""The MSSanté connector's typed configuration, built once from the ``GUICHET_MSSANTE_*`` settings.

Contract: ``MssanteConfig.from_settings(settings)`` returns ``None`` when ``GUICHET_MSSANTE_ADDRESS`` is not set
(the connector stays off), else a frozen, validated config; any bad value raises ``SettingError`` with a French
message naming the setting (``guichet serve`` prints it and stops before listening). The TLS context is built here
too (``tls_context``), so a certificate that does not load is reported at start, not at the first connection.

Contract settings (DESIGN "MSSanté"): ADDRESS, IMAP, SMTP (``host:port``), TLS (``implicit``|``starttls``),
CERT, KEY, CA, CRL (optional), AUTH (``external``|``login``), LOGIN, PASSWORD_FILE, NIL. Additional, with
defaults: TLS13 (``oui``/``non``, default ``non``: TLS 1.3 allowed), MAILBOX (``INBOX``), POLL (seconds between
checks when the server has no IDLE, and between IDLE renewals; 60), LEASE (seconds; 90), TIMEOUT (seconds; 30),
XDM_MAX_BYTES (50 Mo), XDM_MAX_ENTRIES (200), XDM_MAX_DEPTH (4).
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.mssante.tls import client_context
from hub.config import Settings
from hub.settings_check import SettingError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
YES, NO = ("1", "true", "yes", "oui", "on"), ("0", "false", "no", "non", "off")


@dataclass(frozen=True)
class MssanteConfig:
    address: str
    imap: tuple[str, int]
    smtp: tuple[str, int]
    tls_mode: str
    cert: Path
    key: Path
    ca: Path
    crl: Path | None
    auth: str
    login: str | None
    password: str | None
    nil: str
    tls13: bool = False
    mailbox: str = "INBOX"
    poll_seconds: float = 60.0
    lease_seconds: float = 90.0
    timeout: float = 30.0
    xdm_max_bytes: int = 50 * 1024 * 1024
    xdm_max_entries: int = 200
    xdm_max_depth: int = 4

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    def tls_context(self) -> ssl.SSLContext:
        return client_context(self.cert, self.key, self.ca, self.crl, self.tls13)

    @classmethod
    def from_settings(cls, settings: Settings) -> MssanteConfig | None:
        raw = settings.extra
        address = _text(raw, "address")
        if not address:
            return None
        if not EMAIL_RE.match(address):
            raise _bad("ADDRESS", "adresse de la BAL applicative attendue (nom@domaine.mssante.fr)")
        auth = (_text(raw, "auth") or "external").lower()
        if auth not in ("external", "login"):
            raise _bad("AUTH", "valeurs possibles : external, login")
        tls_mode = (_text(raw, "tls") or "implicit").lower()
        if tls_mode not in ("implicit", "starttls"):
            raise _bad("TLS", "valeurs possibles : implicit, starttls")
        login = password = None
        if auth == "login":
            login = _text(raw, "login") or address
            password_file = _file(raw, "password_file", required=True)
            assert password_file is not None
            password = password_file.read_text(encoding="utf-8").strip()
            if not password:
                raise _bad("PASSWORD_FILE", f"le fichier {password_file} est vide")
        nil = _text(raw, "nil")
        if not nil:
            raise _bad("NIL", "manquant : le numéro obtenu en déclarant le logiciel à l'ANS (en-tête X-MSS-NIL)")
        cert, key, ca = (_file(raw, n, required=True) for n in ("cert", "key", "ca"))
        assert cert is not None and key is not None and ca is not None
        config = cls(
            address=address.lower(), imap=_host_port(raw, "imap", 993 if tls_mode == "implicit" else 143),
            smtp=_host_port(raw, "smtp", 465 if tls_mode == "implicit" else 587), tls_mode=tls_mode,
            cert=cert, key=key, ca=ca, crl=_file(raw, "crl", required=False), auth=auth, login=login,
            password=password, nil=nil, tls13=_flag(raw, "tls13"), mailbox=_text(raw, "mailbox") or "INBOX",
            poll_seconds=_number(raw, "poll", 60.0), lease_seconds=_number(raw, "lease", 90.0),
            timeout=_number(raw, "timeout", 30.0), xdm_max_bytes=int(_number(raw, "xdm_max_bytes", 50 * 2**20)),
            xdm_max_entries=int(_number(raw, "xdm_max_entries", 200)),
            xdm_max_depth=int(_number(raw, "xdm_max_depth", 4)))
        try:
            config.tls_context()
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise SettingError(
                "mssante_cert", "certificat, clé (GUICHET_MSSANTE_KEY), autorités (GUICHET_MSSANTE_CA) ou liste de "
                f"révocation (GUICHET_MSSANTE_CRL) illisibles ou incohérents ({type(exc).__name__}: {exc})") from exc
        return config


def _bad(name: str, why: str) -> SettingError:
    return SettingError(f"mssante_{name.lower()}", why)


def _text(raw: Any, name: str) -> str:
    value = raw.get(f"mssante_{name}")
    return str(value).strip() if value is not None else ""


def _file(raw: Any, name: str, required: bool) -> Path | None:
    value = _text(raw, name)
    if not value:
        if required:
            raise _bad(name.upper(), "manquant (chemin d'un fichier PEM)")
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise _bad(name.upper(), f"fichier introuvable : {path}")
    return path


def _host_port(raw: Any, name: str, default_port: int) -> tuple[str, int]:
    value = _text(raw, name)
    if not value:
        raise _bad(name.upper(), "manquant (hôte:port de l'opérateur)")
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = value, str(default_port)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _bad(name.upper(), f"« {value} » n'est pas de la forme hôte:port")
    return host.strip("[]"), int(port)


def _flag(raw: Any, name: str) -> bool:
    value = _text(raw, name).lower()
    if value in ("", *NO):
        return False
    if value in YES:
        return True
    raise _bad(name.upper(), f"« {value} » : oui ou non attendu")


def _number(raw: Any, name: str, default: float) -> float:
    value = _text(raw, name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1
    if number <= 0:
        raise _bad(name.upper(), f"« {value} » : nombre positif attendu")
    return number
