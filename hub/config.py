"""Settings: read once from the environment and an optional ``guichet.toml``.

Contract: :func:`load_settings` returns an immutable :class:`Settings`; the environment wins over the file,
the file over the defaults. Nothing else in the code reads ``os.environ`` for ``GUICHET_*`` names.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from hub.settings_check import integer, number

DEFAULT_HTTP = ("127.0.0.1", 8080)
PROCESS_ROLES = ("api", "smtp", "worker", "mssante")  # what a `guichet serve` process may do (--role)
DEFAULT_SMTP = ("127.0.0.1", 2525)
# The published definitions (OpenAPI, FHIR profiles, example directory) of a source checkout; an installed
# package (the Docker image) is told where they are with GUICHET_SCHEMAS_DIR.
def _bundled_schemas() -> Path:
    """The repository's ``schemas/`` in a source checkout, else the copy shipped in the wheel (``hub/schemas``)."""
    checkout = Path(__file__).resolve().parent.parent / "schemas"
    if (checkout / "openapi.json").is_file():
        return checkout
    return Path(str(resources.files("hub") / "schemas"))


DEFAULT_SCHEMAS = _bundled_schemas()


@dataclass(frozen=True)
class Settings:
    """Every tunable of one Guichet instance."""

    home: Path
    keys_dir: Path
    database_url: str
    database_schema: str | None = None
    http_host: str = DEFAULT_HTTP[0]
    http_port: int = DEFAULT_HTTP[1]
    smtp_host: str = DEFAULT_SMTP[0]
    smtp_port: int = DEFAULT_SMTP[1]
    address: str = "guichet@spsti.example.fr"
    smtp_relay: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    public_url: str | None = None
    smtp_max_size: int = 25 * 1024 * 1024
    outbox_max_attempts: int = 8
    schemas_dir: Path = field(default_factory=lambda: DEFAULT_SCHEMAS)
    recommendations_delay_hours: float = 0.0  # pré-reprise recommendations wait this long for an objection
    extra: Mapping[str, Any] = field(default_factory=dict)
    audit_seal_window: int = 3600  # seconds: an unchained audit entry older than this is reported as forged
    audit_checkpoint_copy: Path | None = None  # a second directory for the audit chain's signed checkpoints
    smtp_require_tls: bool = False  # intake refuses MAIL before STARTTLS (needs GUICHET_TLS_CERT/KEY)
    smtp_relay_tls: str | None = None  # required | opportunistic | none; unset: required (loopback: opportunistic)
    # sender trust and secure pickup (DESIGN "Sender trust and secure pickup"): the authserv-id whose
    # Authentication-Results headers are believed (none: no email is ever "verified"), the domains whose verified
    # senders may get clinical answers by plain email (none by default: the safe choice), and how long a pickup
    # link lives
    trusted_authserv_id: str | None = None
    plain_email_domains: tuple[str, ...] = ()
    pickup_days: int = 14
    # the MSSanté space's mail domains (an address there, or under a sub-domain, is a secure health mailbox:
    # hub.trust.letters); the national space's domains are sub-domains of mssante.fr
    mssante_domains: tuple[str, ...] = ("mssante.fr",)

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None

    @property
    def base_url(self) -> str:
        """The URL users are sent to (links in emails); ``GUICHET_PUBLIC_URL`` or the listener's."""
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.tls_enabled else "http"
        return f"{scheme}://{self.http_host}:{self.http_port}"

    @property
    def address_domain(self) -> str:
        return self.address.rpartition("@")[2].lower()

    @property
    def address_local(self) -> str:
        return self.address.rpartition("@")[0].lower()

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _default_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "guichet"


def load_settings(env: Mapping[str, str] | None = None, toml_path: Path | None = None) -> Settings:
    """Build the settings from ``env`` (default ``os.environ``) and ``guichet.toml``.

    The TOML file is looked up at ``toml_path``, else ``$GUICHET_CONFIG``, else ``./guichet.toml``; its keys
    are the setting names without the ``GUICHET_`` prefix, in lower case (``database_url = "…"``).
    """
    env = os.environ if env is None else env
    file_values: dict[str, Any] = {}
    path = toml_path or Path(env.get("GUICHET_CONFIG", "guichet.toml"))
    if path.is_file():
        with path.open("rb") as fh:
            file_values = {k.lower(): v for k, v in tomllib.load(fh).items()}

    def get(name: str, default: Any = None) -> Any:
        value = env.get(f"GUICHET_{name.upper()}")
        if value is None or value == "":
            return file_values.get(name, default)
        return value

    home = Path(get("home", _default_home())).expanduser()
    keys_dir = Path(get("keys_dir", home / "keys")).expanduser()
    database_url = get("database_url") or f"sqlite+aiosqlite:///{home / 'guichet.db'}"
    cert, key = get("tls_cert"), get("tls_key")
    return Settings(
        home=home,
        keys_dir=keys_dir,
        database_url=str(database_url),
        database_schema=get("database_schema"),
        http_host=str(get("http_host", DEFAULT_HTTP[0])),
        http_port=int(get("http_port", DEFAULT_HTTP[1])),
        smtp_host=str(get("smtp_host", DEFAULT_SMTP[0])),
        smtp_port=int(get("smtp_port", DEFAULT_SMTP[1])),
        address=str(get("address", "guichet@spsti.example.fr")).lower(),
        smtp_relay=get("smtp_relay"),
        tls_cert=Path(cert) if cert else None,
        tls_key=Path(key) if key else None,
        public_url=get("public_url"),
        smtp_max_size=int(get("smtp_max_size", 25 * 1024 * 1024)),
        outbox_max_attempts=int(get("outbox_max_attempts", 8)),
        schemas_dir=Path(get("schemas_dir", DEFAULT_SCHEMAS)).expanduser(),
        recommendations_delay_hours=number({"recommendations_delay_hours": get("recommendations_delay_hours", 0.0)},
                                           "recommendations_delay_hours", 0.0),
        audit_seal_window=int(get("audit_seal_window", 3600)),
        smtp_require_tls=str(get("smtp_require_tls", "")).strip().lower() in ("1", "true", "yes", "oui", "on"),
        smtp_relay_tls=(str(get("smtp_relay_tls")).strip().lower() or None) if get("smtp_relay_tls") else None,
        audit_checkpoint_copy=Path(get("audit_checkpoint_copy")).expanduser() if get("audit_checkpoint_copy") else None,
        extra={**file_values, **_connector_env(env)},
        trusted_authserv_id=(str(get("trusted_authserv_id") or "").strip().lower() or None),
        plain_email_domains=_domains(get("plain_email_domains", ())),
        pickup_days=integer({"pickup_days": get("pickup_days", 14)}, "pickup_days", 14, minimum=1, maximum=366),
        mssante_domains=_domains(get("mssante_domains", ("mssante.fr",))),
    )


def _domains(value: Any) -> tuple[str, ...]:
    """A list (TOML) or a comma-separated string (environment) of mail domains, lower case."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    return tuple(sorted({str(d).strip().lower().lstrip("@") for d in items if str(d).strip()}))


CONNECTOR_PREFIXES = ("GUICHET_MSSANTE_",)


def _connector_env(env: Mapping[str, str]) -> dict[str, str]:
    """Settings a connector reads itself (its typed config), from the environment: ``GUICHET_MSSANTE_CA``
    becomes ``extra["mssante_ca"]``, winning over the same key of ``guichet.toml``."""
    return {name[len("GUICHET_"):].lower(): value for name, value in env.items()
            if name.startswith(CONNECTOR_PREFIXES) and value != ""}
