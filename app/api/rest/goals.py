"""REST: the goals of a pairing, their milestones and comments."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from app.api.deps import ActorDep, SessionDep
from app.api.rest.conditional import ExpectedVersion, set_etag
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import CHANGE_ERRORS, CREATE_ERRORS, READ_ERRORS
from app.domain import goals as service
from app.domain.goals import CommentView, GoalStatus, GoalView

router = APIRouter(tags=["goals"])


@router.get("/pairings/{pairing_id}/goals", response_model=PageOut[GoalView], responses=READ_ERRORS)
async def list_goals(
    pairing_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    owner_role: service.OwnerRole | None = None,
    status: GoalStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[GoalView]:
    """The goals of a pairing, both members' (oldest first)."""
    page = await service.list_goals(
        session,
        actor,
        pairing_id,
        owner_role=owner_role,
        status=status,
        limit=limit,
        cursor=cursor,
    )
    link_next(request, response, page.next_cursor)
    return PageOut(
        items=await service.goal_views(session, page.items), next_cursor=page.next_cursor
    )


@router.post(
    "/pairings/{pairing_id}/goals",
    status_code=status.HTTP_201_CREATED,
    response_model=GoalView,
    responses=CREATE_ERRORS,
)
async def create_goal(
    pairing_id: uuid.UUID,
    data: service.GoalCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
) -> GoalView:
    """Set a goal of yours in a live pairing (either member: two-way learning)."""
    goal = await service.create_goal(session, actor, pairing_id, data=data)
    await session.commit()
    response.headers["Location"] = str(request.url_for("get_goal", goal_id=goal.id))
    set_etag(response, goal.version)
    return await service.goal_view(session, goal)


@router.get("/goals/{goal_id}", response_model=GoalView, responses=READ_ERRORS)
async def get_goal(
    goal_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> GoalView:
    """Read one goal with its milestones."""
    goal = await service.get_goal(session, actor, goal_id)
    set_etag(response, goal.version)
    return await service.goal_view(session, goal)


@router.patch("/goals/{goal_id}", response_model=GoalView, responses=CHANGE_ERRORS)
async def update_goal(
    goal_id: uuid.UUID,
    data: service.GoalUpdate,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> GoalView:
    """Change your goal: its text, status, progress, milestones (the owner only)."""
    goal = await service.update_goal(session, actor, goal_id, data=data, expected_version=version)
    await session.commit()
    set_etag(response, goal.version)
    return await service.goal_view(session, goal)


@router.patch(
    "/goals/{goal_id}/milestones/{milestone_id}", response_model=GoalView, responses=CHANGE_ERRORS
)
async def set_milestone(
    goal_id: uuid.UUID,
    milestone_id: uuid.UUID,
    data: service.MilestoneChange,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> GoalView:
    """Tick or untick a milestone (the owner, or the partner when the owner allows it).
    ``If-Match`` carries the goal's ETag: milestones are part of the goal."""
    goal = await service.set_milestone(
        session, actor, goal_id, milestone_id, done=data.done, expected_version=version
    )
    await session.commit()
    set_etag(response, goal.version)
    return await service.goal_view(session, goal)


@router.get("/goals/{goal_id}/comments", response_model=PageOut[CommentView], responses=READ_ERRORS)
async def list_goal_comments(
    goal_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[CommentView]:
    """The comments on a goal, oldest first."""
    page = await service.list_comments(session, actor, goal_id, limit=limit, cursor=cursor)
    link_next(request, response, page.next_cursor)
    return PageOut(
        items=[CommentView.model_validate(c, from_attributes=True) for c in page.items],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/goals/{goal_id}/comments",
    status_code=status.HTTP_201_CREATED,
    response_model=CommentView,
    responses=CREATE_ERRORS,
)
async def add_goal_comment(
    goal_id: uuid.UUID,
    data: service.CommentCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
) -> CommentView:
    """Comment on a goal (the owner, or the partner when the owner allows it)."""
    comment = await service.add_comment(session, actor, goal_id, data=data)
    await session.commit()
    response.headers["Location"] = str(request.url_for("list_goal_comments", goal_id=goal_id))
    return CommentView.model_validate(comment, from_attributes=True)
