"""All tables; importing this package registers them on ``Base.metadata``."""

from hub.store.models.base import Base, UTCDateTime, new_id, utcnow
from hub.store.models.consent import ConsentDecision, ConsentSubject, Recommendation  # noqa: F401 (issue 13)
from hub.store.models.directory import Centre, Employer, Practitioner, Structure, StructureCommune, Team
from hub.store.models.indicators import IndicatorLink, IntakeRefusal
from hub.store.models.messaging import (
    CLOSED_STATUSES,
    TASK_STATUSES,
    Attachment,
    ConsentRecord,
    DataKeyRow,
    Message,
    OutboxItem,
    Request,
    RequestLookup,
    RoutingDecision,
    Thread,
    ThreadAlias,
    ThreadRead,
)
from hub.store.models.pickup import Pickup
from hub.store.models.protect import LoginThrottle
from hub.store.models.scale import Lease, RateBucket
from hub.store.models.security import ApiClient, AuditEvent, AuditHead, UsedJti, User, WebSession

__all__ = [
    "CLOSED_STATUSES", "TASK_STATUSES", "ApiClient", "Attachment", "AuditEvent", "AuditHead", "Base", "Centre",
    "ConsentRecord", "DataKeyRow", "Employer", "Message", "OutboxItem", "Practitioner", "Request", "RequestLookup",
    "RoutingDecision", "Structure", "StructureCommune", "Team", "Thread", "ThreadAlias", "ThreadRead", "UTCDateTime",
    "UsedJti", "User", "WebSession", "new_id", "utcnow",
    "IndicatorLink", "IntakeRefusal", "Lease", "LoginThrottle", "Pickup", "RateBucket",
]
