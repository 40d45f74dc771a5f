"""What the types share: the domain's enums as GraphQL enums, and node lookup by loader."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import strawberry
from strawberry.dataloader import DataLoader

from app.api.graphql.relay import node_uuids, ordered
from app.domain.checkins import MeetingMode
from app.domain.concerns import ConcernCategory, ConcernStatus
from app.domain.enrollments import EnrollmentRole, EnrollmentStatus
from app.domain.feedback import CommentVisibility, FeedbackKind
from app.domain.goals import GoalStatus, OwnerRole
from app.domain.health import HealthStatus, ReasonCode
from app.domain.pairing_requests import RequestStatus
from app.domain.pairings import EndReason, PairingState
from app.domain.programs import ProgramStatus

T = TypeVar("T")

# The domain's enums serve GraphQL as they are (their values are what REST sends).
for enum in (
    ProgramStatus,
    EnrollmentRole,
    EnrollmentStatus,
    PairingState,
    EndReason,
    GoalStatus,
    OwnerRole,
    MeetingMode,
    FeedbackKind,
    CommentVisibility,
    ConcernCategory,
    ConcernStatus,
    HealthStatus,
    ReasonCode,
    RequestStatus,
):
    strawberry.enum(enum)

__all__ = [
    "CommentVisibility",
    "ConcernCategory",
    "ConcernStatus",
    "EndReason",
    "EnrollmentRole",
    "EnrollmentStatus",
    "FeedbackKind",
    "GoalStatus",
    "HealthStatus",
    "MeetingMode",
    "OwnerRole",
    "PairingState",
    "ProgramStatus",
    "ReasonCode",
    "RequestStatus",
    "nodes_through",
]


async def nodes_through(
    loader: DataLoader[uuid.UUID, Any],
    wrap: Callable[[Any], T],
    node_ids: Iterable[str],
    *,
    required: bool,
) -> list[T | None]:
    """Nodes by id through a loader (which applies the actor's visibility)."""
    ids = list(node_ids)
    rows = await loader.load_many(node_uuids(ids))
    found = {row.id: wrap(row) for row in rows if row is not None}
    return ordered(found, ids, required=required)
