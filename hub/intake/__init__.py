"""Intake: every way in hands the hub a ``RequestDraft`` (or a ``MessageDraft`` for an existing thread)."""

from hub.intake.drafts import (
    AttachmentDraft,
    ConsentStatement,
    EmployerRef,
    MessageDraft,
    Person,
    RequestDraft,
    Requester,
    WorkStoppage,
)

__all__ = ["AttachmentDraft", "ConsentStatement", "EmployerRef", "MessageDraft", "Person", "RequestDraft",
           "Requester", "WorkStoppage"]
