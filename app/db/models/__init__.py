"""Every table model; importing this package registers them all on the metadata."""

from app.db.models.audit import AuditEvent
from app.db.models.base import NAMING_CONVENTION, Resource, metadata
from app.db.models.employees import Employee
from app.db.models.enrollments import Enrollment
from app.db.models.hris import HrisRun, HrisRunPage
from app.db.models.idempotency import IdempotencyRecord
from app.db.models.pairings import (
    OPEN_PAIRING_STATES,
    Block,
    MatchingRun,
    Pairing,
    PairingRequest,
)
from app.db.models.programs import Program, ProgramManager
from app.db.models.progress import (
    CheckIn,
    CheckInPrivateNote,
    Concern,
    Feedback,
    Goal,
    GoalComment,
    GoalMilestone,
)
from app.db.models.tokens import ApiToken, WebSession

__all__ = [
    "NAMING_CONVENTION",
    "OPEN_PAIRING_STATES",
    "ApiToken",
    "AuditEvent",
    "Block",
    "CheckIn",
    "CheckInPrivateNote",
    "Concern",
    "Employee",
    "Enrollment",
    "Feedback",
    "Goal",
    "GoalComment",
    "GoalMilestone",
    "HrisRun",
    "HrisRunPage",
    "IdempotencyRecord",
    "MatchingRun",
    "Pairing",
    "PairingRequest",
    "Program",
    "ProgramManager",
    "Resource",
    "WebSession",
    "metadata",
]
