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
from collection.models.harvest import HarvestedRecord, HarvestRun, HarvestSource
from collection.models.ingest import ChunkedUpload, IngestJob, JobState
from collection.models.oai import OaiTombstone
from collection.models.places import (
    REFORM_DATE,
    GazetteerSource,
    ItemPlace,
    Place,
    PlaceLevel,
    PlaceLink,
)
from collection.models.points import AccessPoint, PointKind, PointLevel
from collection.models.preservation import FixityCheck, FixityOutcome
from collection.models.reports import PointFigures, ReportVersion
from collection.models.stats import (
    ReportKey,
    RobotList,
    RollupState,
    UsageDaily,
    UsageEvent,
    UsageItemDay,
    UsageKind,
    UsageMonthly,
    UsageQueryDay,
    UsageReaderDay,
    UsageUsers,
)

__all__ = [
    "REFORM_DATE",
    "Access",
    "AccessPoint",
    "ApiToken",
    "AuditEvent",
    "Base",
    "ChunkedUpload",
    "Collection",
    "FixityCheck",
    "FixityOutcome",
    "GazetteerSource",
    "HarvestRun",
    "HarvestSource",
    "HarvestedRecord",
    "IngestJob",
    "Item",
    "ItemPlace",
    "ItemStatus",
    "JobState",
    "LoginAttempt",
    "LoginSession",
    "OaiTombstone",
    "Page",
    "Place",
    "PlaceLevel",
    "PlaceLink",
    "PointFigures",
    "PointKind",
    "PointLevel",
    "ReportKey",
    "ReportVersion",
    "RobotList",
    "Role",
    "RollupState",
    "StoredFile",
    "TextSource",
    "UsageDaily",
    "UsageEvent",
    "UsageItemDay",
    "UsageKind",
    "UsageMonthly",
    "UsageQueryDay",
    "UsageReaderDay",
    "UsageUsers",
    "User",
]
