"""The composition root: one ``Hub`` per process holds the settings, the database and the services.

No module keeps global state. The services are built here bottom-up, each receiving what it uses (outbox →
notices → intake, …); none of them imports this module. Handlers and CLI commands receive the ``Hub``.
``hub.use_settings(settings)`` replaces the settings everywhere they are held (the server learns its real port
after binding).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hub.audit import AuditLog
from hub.audit_keys import AuditKeys
from hub.bounces import ReturnPaths
from hub.client_tasks import ClientTasks
from hub.config import Settings
from hub.consent.outbound import ConsentGuard
from hub.consent.registry import ConsentKeys
from hub.crypto.envelope import Vault
from hub.crypto.keystore import KeyStore
from hub.crypto.lookup import LookupHasher
from hub.directory.service import DirectoryService
from hub.followup import FollowUps
from hub.intake.replies import ReplyFinder
from hub.intake.service import IntakeService
from hub.mailbox import MailboxService
from hub.notices import Notices
from hub.outbox import Outbox
from hub.rights import RightsTable, SessionPolicy
from hub.routing import Router
from hub.scale.ratelimit import RateLimits
from hub.scale.wakeups import install_notify
from hub.store.db import Database
from hub.store.key_guard import install as install_key_guard
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
    follow_ups: FollowUps = field(init=False)
    replies: ReplyFinder = field(init=False)
    directory: DirectoryService = field(init=False)
    client_tasks: ClientTasks = field(init=False)
    return_paths: ReturnPaths = field(init=False)
    mailbox: MailboxService = field(init=False)
    limits: RateLimits = field(init=False)
    services: dict[str, Any] = field(default_factory=dict)
    rights: RightsTable = field(init=False)
    session_policy: SessionPolicy = field(init=False)

    def __post_init__(self) -> None:
        self.rights = RightsTable.from_settings(self.settings)  # an unknown role or right stops the start-up
        self.session_policy = SessionPolicy.from_settings(self.settings)
        self.outbox = Outbox(self.db, self.sealer)
        self.return_paths = ReturnPaths(self.db, self.hasher, self.settings.address)  # VERP (hub.bounces)
        self.outbox.return_path = self.return_paths.address
        self.outbox.guard = ConsentGuard(ConsentKeys(self.sealer, self.hasher, self.audit))  # consent at departure
        self.notices = Notices(self.settings, self.outbox, self.sealer, self.audit)
        self.intake = IntakeService(self.db, self.router, self.sealer, self.hasher, self.audit, self.notices,
                                    self.outbox)
        self.follow_ups = FollowUps(self.db, self.audit)
        self.replies = ReplyFinder(self.db)
        self.directory = DirectoryService(self.db)
        self.client_tasks = ClientTasks(self.db, self.sealer, self.audit,
                                        consent=ConsentKeys(self.sealer, self.hasher, self.audit))
        self.mailbox = MailboxService(self.db, self.outbox)
        self.limits = RateLimits(self.db, self.keystore.index_key())
        install_notify(self.db)  # PostgreSQL: new outbox rows wake the workers of every instance

    def use_settings(self, settings: Settings) -> None:
        self.settings = settings

    def __setattr__(self, name: str, value: Any) -> None:
        """Replacing ``settings`` reaches the services that hold them (the server's real port, tests)."""
        super().__setattr__(name, value)
        if name == "settings" and "notices" in self.__dict__:
            self.notices.settings = value

    @classmethod
    def open(cls, settings: Settings, router: Router | None = None) -> Hub:
        """Open the key store and the database (the key store must exist: ``guichet init``)."""
        keystore = KeyStore(settings.keys_dir)
        vault = Vault(keystore)
        db = Database(settings.database_url, schema=settings.database_schema)
        install_key_guard(db, vault)  # data keys wrapped under the KEK active at flush (hub.store.key_guard)
        return cls(
            settings=settings,
            db=db,
            keystore=keystore,
            vault=vault,
            sealer=Sealer(vault),
            hasher=LookupHasher(keystore.index_key()),
            audit=AuditLog(db, keys=AuditKeys(keystore.audit_key()),
                           checkpoint_dirs=[settings.home] + ([settings.audit_checkpoint_copy]
                                                              if settings.audit_checkpoint_copy else []),
                           seal_window=timedelta(seconds=settings.audit_seal_window)),
            router=router or Router.from_settings(settings),
        )

    async def close(self) -> None:
        try:
            await self.audit.flush()
        except Exception:  # noqa: BLE001 - storage down: pending entries are chained at the next start
            log.exception("could not chain pending audit entries before closing")
        finally:
            await self.db.dispose()

