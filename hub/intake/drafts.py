"""The shape every connector converts its input to before handing it to the hub.

A draft is plain data: no database ids, no crypto. ``RequestDraft.to_payload()`` is what gets encrypted and
stored as the request's focus; ``from_payload`` reads it back for the inbox and the API.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

EVENTS = ("pre-return-visit-request", "pdp-referral", "coordination-request", "reply")
REQUESTER_KINDS = ("worker", "gp", "specialist", "employer", "partner", "medecin_conseil", "mdt",
                   "coordinator", "other")
STOPPAGE_CAUSES = ("illness", "work-accident", "occupational-disease", "maternity")
CHANNELS = ("email", "fhir", "form", "mssante")
# How far the hub can stand behind the sender's identity (DESIGN "Sender trust"): read from the MSSanté mailbox,
# plain email whose domain authentication passed, an authenticated API client, a public form, or nothing.
TRUST_LEVELS = ("mssante", "verified", "api", "form", "unverified")


@dataclass
class Person:
    """The worker. ``ins`` only for a qualified identity; traits otherwise."""

    family_name: str = ""
    given_names: str = ""
    birth_date: date | None = None
    sex: str | None = None
    ins: str | None = None
    ins_system: str | None = None
    birth_commune: str | None = None
    residence_commune: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass
class Requester:
    kind: str = "other"
    name: str = ""
    email: str | None = None
    phone: str | None = None
    rpps: str | None = None
    organisation: str | None = None
    structure_id: str | None = None


@dataclass
class EmployerRef:
    siret: str | None = None
    name: str | None = None
    postcode: str | None = None
    commune_insee: str | None = None
    town: str | None = None


@dataclass
class WorkStoppage:
    start: date
    end: date | None = None
    cause: str = "illness"


@dataclass
class ConsentStatement:
    decision: str = "permit"  # permit | deny
    given_on: date | None = None
    channel: str = "web"  # web | email | fhir | oral | paper
    declared_by: str = "worker"  # worker | third-party
    purposes: tuple[str, ...] = ()  # hub.consent.purposes.PURPOSES it covers; empty: the request's own purpose


@dataclass
class AttachmentDraft:
    filename: str
    content_type: str
    content: bytes


@dataclass
class RequestDraft:
    """A new request, whatever channel it came by. ``source_key`` makes intake idempotent."""

    event: str
    channel: str
    source_key: str
    requester: Requester
    subject: str = ""
    reason: str = ""
    worker: Person | None = None
    employer: EmployerRef | None = None
    job: str | None = None
    stoppage: WorkStoppage | None = None
    consent: ConsentStatement | None = None
    attachments: list[AttachmentDraft] = field(default_factory=list)
    raw: bytes | None = None
    raw_type: str | None = None
    client_id: str | None = None
    rfc822_id: str | None = None
    triage_hint: str | None = None
    trust: str = "unverified"  # one of TRUST_LEVELS, set by the connector from how the input arrived
    claimed_rpps: str | None = None  # an RPPS the text quotes without establishing who wrote: a suggestion only
    # What the core reads, typed: send the acknowledgement/confirmation (False for auto replies, bounces, lists),
    # notify the recipients, and the digest of the submitted body (the same source_key with another digest is a
    # conflict, not a re-send).
    acknowledge: bool = True
    notify: bool = True
    body_digest: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("attachments", "raw", "raw_type", "source_key", "acknowledge", "notify"):
            data.pop(name)
        return data

    @staticmethod
    def from_payload(data: dict[str, Any]) -> dict[str, Any]:
        """The stored payload as a dict (dates stay ISO strings)."""
        return data


@dataclass
class MessageDraft:
    """A message added to an existing thread (the GP's answer, a FHIR ``reply``, a follow-up).

    ``author_label`` is the sender's name (stored encrypted); ``author_role`` the clear label shown in lists."""

    thread_id: str
    channel: str
    source_key: str
    author_label: str
    body: str
    kind: str = "reply"
    author_role: str = "Demandeur"
    attachments: list[AttachmentDraft] = field(default_factory=list)
    raw: bytes | None = None
    rfc822_id: str | None = None
    client_id: str | None = None
    trust: str = "unverified"  # one of TRUST_LEVELS
    claimed_rpps: str | None = None  # see RequestDraft.claimed_rpps
