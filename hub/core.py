"""The composition root: one ``Hub`` per process holds the settings, the database and the services.

No module keeps global state; everything that needs a service receives the ``Hub`` (or the service).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from hub.audit import AuditLog
from hub.config import Settings
from hub.crypto.envelope import Vault
from hub.crypto.keystore import KeyStore
from hub.crypto.lookup import LookupHasher
from hub.intake.service import IntakeService
from hub.notices import Notices
from hub.outbox import Outbox
from hub.rights import RightsTable, SessionPolicy
from hub.routing import Router
from hub.store.db import Database
from hub.store.sealing import Sealer

log = logging.getLogger(__name__)


@dataclass
class Hub:
    settings: Settings
    db: Database
    keystore: KeyStore
    vault: Vault
    sealer: Sealer
    hasher: LookupHasher
    audit: AuditLog
    router: Router
    outbox: Outbox = field(init=False)
    intake: IntakeService = field(init=False)
    notices: Notices = field(init=False)
    services: dict[str, Any] = field(default_factory=dict)
    rights: RightsTable = field(init=False)
    session_policy: SessionPolicy = field(init=False)

    def __post_init__(self) -> None:
        self.rights = RightsTable.from_settings(self.settings)  # an unknown role or right stops the start-up
        self.session_policy = SessionPolicy.from_settings(self.settings)
        self.outbox = Outbox(self)
        self.intake = IntakeService(self)
        self.notices = Notices(self)

    @classmethod
    def open(cls, settings: Settings, router: Router | None = None) -> Hub:
        """Open the key store and the database (the key store must exist: ``guichet init``)."""
        keystore = KeyStore(settings.keys_dir)
        vault = Vault(keystore)
        db = Database(settings.database_url, schema=settings.database_schema)
        return cls(
            settings=settings,
            db=db,
            keystore=keystore,
            vault=vault,
            sealer=Sealer(vault),
            hasher=LookupHasher(keystore.index_key()),
            audit=AuditLog(db),
            router=router or Router.from_settings(settings),
        )

    async def close(self) -> None:
        try:
            await self.audit.flush()
        except Exception:  # noqa: BLE001 - storage down: pending entries are chained at the next start
            log.exception("could not chain pending audit entries before closing")
        finally:
            await self.db.dispose()

