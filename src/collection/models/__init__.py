"""All SQLAlchemy models, imported here so Alembic and the app see one metadata."""

from collection.db import Base
from collection.models.accounts import ApiToken, LoginAttempt, LoginSession, Role, User
from collection.models.audit import AuditEvent
from collection.models.catalogue import (
    Access,
    Collection,
    Item,
    ItemStatus,
    Page,
    StoredFile,
    TextSource,
)
from collection.models.ingest import ChunkedUpload, IngestJob, JobState
from collection.models.points import AccessPoint, PointKind, PointLevel
from collection.models.stats import UsageEvent, UsageKind

__all__ = [
    "Access",
    "AccessPoint",
    "ApiToken",
    "AuditEvent",
    "Base",
    "ChunkedUpload",
    "Collection",
    "IngestJob",
    "Item",
    "ItemStatus",
    "JobState",
    "LoginAttempt",
    "LoginSession",
    "Page",
    "PointKind",
    "PointLevel",
    "Role",
    "StoredFile",
    "TextSource",
    "UsageEvent",
    "UsageKind",
    "User",
]
