"""Feedback: ratings on fixed dimensions and a comment, after a check-in or at the end.

Who reads what: the author reads their own feedback whole. The partner learns that feedback
was given and reads its comment only when the author shared it with them; never the ratings.
The program's managers and admins read ratings and comments, to look after the pairing.
Readers (service clients) get aggregates only, through the report. Every aggregate is shown
only over at least ``MIN_GROUP`` distinct respondents; below that it is suppressed.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import CheckIn, Feedback
from app.db.pagination import Page, decode_cursor, key_cursor, paginate, paginate_each
from app.domain import audit
from app.domain.access import PairingAccess, access_to, pairing_access
from app.domain.actors import Actor
from app.domain.errors import Conflict, Forbidden, RuleViolation
from app.domain.pairings import pairings_by_id
from app.domain.values import Bool, Int, StrictInput

#: The fewest distinct respondents an aggregate may be shown over (k-anonymity).
MIN_GROUP = 3
#: The share cut from each end before averaging ratings (a 10% trimmed mean).
TRIM = 0.1
#: Pairings may receive end-of-pairing feedback once they are over.
END_FEEDBACK_STATES = ("completed", "ended")


class Dimension(StrEnum):
    VALUE = "value"
    MUTUAL_RESPECT = "mutual_respect"
    PSYCHOLOGICAL_SAFETY = "psychological_safety"
    CLARITY = "clarity"


DIMENSIONS = tuple(Dimension)
#: The column holding each dimension's rating.
RATING_COLUMNS = {d: f"rating_{d.value}" for d in DIMENSIONS}


class FeedbackKind(StrEnum):
    CHECK_IN = "check_in"
    END = "end"


class CommentVisibility(StrEnum):
    PARTNER = "partner"  # the partner and the program team
    PROGRAM_TEAM = "program_team"  # the program's managers and admins only


Rating = Annotated[Int, Field(ge=1, le=5)]


class Ratings(StrictInput):
    """1 (poor) to 5 (excellent) on each dimension."""

    value: Rating
    mutual_respect: Rating
    psychological_safety: Rating
    clarity: Rating


class FeedbackCreate(StrictInput):
    kind: FeedbackKind
    check_in_id: uuid.UUID | None = Field(
        default=None, description="The check-in this is about (kind check_in only)."
    )
    ratings: Ratings
    comment: Annotated[str, StringConstraints(max_length=4000)] | None = None
    comment_visibility: CommentVisibility = CommentVisibility.PROGRAM_TEAM
    would_take_part_again: Bool | None = Field(
        default=None, description="Required at the end of a pairing, and only then."
    )

    @model_validator(mode="after")
    def _fits_kind(self) -> FeedbackCreate:
        if self.kind is FeedbackKind.CHECK_IN:
            if self.check_in_id is None:
                raise ValueError("check_in_id is required for feedback on a check-in")
            if self.would_take_part_again is not None:
                raise ValueError("would_take_part_again is asked at the end of a pairing only")
        else:
            if self.check_in_id is not None:
                raise ValueError(
                    "check_in_id is for feedback on a check-in; end-of-pairing feedback is not "
                    "about one check-in"
                )
            if self.would_take_part_again is None:
                raise ValueError("would_take_part_again is required at the end of a pairing")
        return self


class RatingsView(BaseModel):
    value: int
    mutual_respect: int
    psychological_safety: int
    clarity: int


class FeedbackView(BaseModel):
    id: uuid.UUID
    pairing_id: uuid.UUID
    author_employee_id: uuid.UUID
    author_role: str
    kind: FeedbackKind
    check_in_id: uuid.UUID | None
    ratings: RatingsView | None = Field(description="The author and the program team only.")
    would_take_part_again: bool | None = Field(description="The author and the program team only.")
    comment: str | None = Field(description="The partner reads it only when it was shared.")
    comment_visibility: CommentVisibility | None = Field(
        description="The author and the program team only."
    )
    created_at: datetime


def feedback_view(access: PairingAccess, actor: Actor, entry: Feedback) -> FeedbackView:
    """One entry as this actor may read it."""
    whole = access.team or actor.is_employee(entry.author_employee_id)
    shared = entry.comment_visibility == CommentVisibility.PARTNER.value
    return FeedbackView(
        id=entry.id,
        pairing_id=entry.pairing_id,
        author_employee_id=entry.author_employee_id,
        author_role=entry.author_role,
        kind=FeedbackKind(entry.kind),
        check_in_id=entry.check_in_id,
        ratings=RatingsView(
            value=entry.rating_value,
            mutual_respect=entry.rating_mutual_respect,
            psychological_safety=entry.rating_psychological_safety,
            clarity=entry.rating_clarity,
        )
        if whole
        else None,
        would_take_part_again=entry.would_take_part_again if whole else None,
        comment=entry.comment if whole or shared else None,
        comment_visibility=CommentVisibility(entry.comment_visibility) if whole else None,
        created_at=entry.created_at,
    )


def _refusal(access: PairingAccess) -> Forbidden | None:
    """Why this actor may not read the pairing's individual feedback, if they may not."""
    if access.is_member or access.team:
        return None
    return Forbidden(
        "individual feedback is for the pairing's members and the program team; "
        "read the program report for aggregates",
        rule="member_or_program_team",
    )


def _feedback_query(*, cursor: str | None = None) -> Select[Any]:
    stmt = select(Feedback)
    if cursor:
        stmt = stmt.where(col(Feedback.id) > decode_cursor(cursor))
    return stmt


async def list_feedback(
    session: AsyncSession,
    actor: Actor,
    pairing_id: uuid.UUID,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[FeedbackView]:
    """The feedback given in a pairing, for its members and the program team."""
    access = await pairing_access(session, actor, pairing_id)
    refusal = _refusal(access)
    if refusal is not None:
        raise refusal
    stmt = _feedback_query().where(col(Feedback.pairing_id) == pairing_id)
    page = await paginate(session, stmt, key=col(Feedback.id), limit=limit, cursor=cursor)
    return Page(
        items=[feedback_view(access, actor, f) for f in page.items], next_cursor=page.next_cursor
    )


async def feedback_of_pairings(
    session: AsyncSession,
    actor: Actor,
    pairing_ids: Collection[uuid.UUID],
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[uuid.UUID, Page[FeedbackView] | Forbidden]:
    """The first page of the feedback given in each pairing, as ``list_feedback`` shapes it,
    or the refusal it would answer (readers get aggregates only), in two queries whatever
    the number of pairings."""
    out: dict[uuid.UUID, Page[FeedbackView] | Forbidden] = {}
    readable: dict[uuid.UUID, PairingAccess] = {}
    for pairing in (await pairings_by_id(session, actor, pairing_ids)).values():
        access = access_to(actor, pairing)
        refusal = _refusal(access)
        if refusal is None:
            readable[pairing.id] = access
        else:
            out[pairing.id] = refusal
    pages = await paginate_each(
        session,
        _feedback_query(cursor=cursor),
        parent=col(Feedback.pairing_id),
        parents=list(readable),
        order_by=[col(Feedback.id)],
        limit=limit,
        cursor_of=lambda f: key_cursor(f.id),
    )
    for pairing_id, page in pages.items():
        access = readable[pairing_id]
        out[pairing_id] = Page(
            items=[feedback_view(access, actor, f) for f in page.items],
            next_cursor=page.next_cursor,
        )
    return out


async def give_feedback(
    session: AsyncSession, actor: Actor, pairing_id: uuid.UUID, *, data: FeedbackCreate
) -> FeedbackView:
    """A member rates a check-in, or the pairing once it is over."""
    access = await pairing_access(session, actor, pairing_id)
    role = access.require_member("give feedback on it")
    pairing = access.pairing
    if data.kind is FeedbackKind.CHECK_IN:
        check_in = await session.get(CheckIn, data.check_in_id)
        if check_in is None or check_in.pairing_id != pairing.id:
            raise RuleViolation(
                "that check-in is not one of this pairing's",
                field="check_in_id",
                rule="same_pairing",
            )
    elif pairing.state not in END_FEEDBACK_STATES:
        raise Conflict(
            f"end-of-pairing feedback is given once it is completed or ended; it is "
            f"'{pairing.state}'",
            rule="pairing_over",
            extra={"current_status": pairing.state},
        )
    assert actor.employee_id is not None
    entry = Feedback(
        pairing_id=pairing.id,
        program_id=pairing.program_id,
        author_employee_id=actor.employee_id,
        author_role=role,
        kind=data.kind.value,
        check_in_id=data.check_in_id,
        rating_value=data.ratings.value,
        rating_mutual_respect=data.ratings.mutual_respect,
        rating_psychological_safety=data.ratings.psychological_safety,
        rating_clarity=data.ratings.clarity,
        comment=data.comment or None,
        comment_visibility=data.comment_visibility.value,
        would_take_part_again=data.would_take_part_again,
    )
    what = "this check-in" if data.kind is FeedbackKind.CHECK_IN else "this pairing's end"
    given = select(col(Feedback.id)).where(
        col(Feedback.pairing_id) == pairing.id,
        col(Feedback.author_employee_id) == actor.employee_id,
        col(Feedback.kind) == entry.kind,
    )
    if data.check_in_id is not None:
        given = given.where(col(Feedback.check_in_id) == data.check_in_id)
    if await session.scalar(given) is not None:
        raise Conflict(f"you already gave feedback on {what}", rule="feedback_once")
    session.add(entry)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent twin won the unique index
        raise Conflict(f"you already gave feedback on {what}", rule="feedback_once") from exc
    # The audit log notes that feedback was given, never the ratings or the comment.
    audit.record(
        session,
        actor,
        action="feedback.given",
        entity_type="feedback",
        entity_id=entry.id,
        details={"pairing_id": str(pairing.id), "kind": entry.kind},
    )
    return feedback_view(access, actor, entry)


# ---------------------------------------------------------------------------------------------
# Aggregates
# ---------------------------------------------------------------------------------------------


def trimmed_mean(histogram: Mapping[int, int], proportion: float = TRIM) -> float | None:
    """The mean after cutting ``int(proportion * n)`` values from each end (what
    ``scipy.stats.trim_mean`` computes), from a histogram of integer ratings, so that any
    number of ratings is summarised by five counts."""
    n = sum(histogram.values())
    if n == 0:
        return None
    cut = math.floor(proportion * n)
    low, high = cut, n - cut  # keep the sorted values with index in [low, high)
    total = 0.0
    index = 0
    for value in sorted(histogram):
        count = histogram[value]
        start, end = index, index + count
        kept = max(0, min(end, high) - max(start, low))
        total += kept * value
        index = end
    return total / (high - low)


def suppressed(respondents: int) -> bool:
    """Whether an aggregate over this many distinct respondents must be hidden."""
    return respondents < MIN_GROUP


def entry_mean(entry: Sequence[int]) -> float:
    return sum(entry) / len(entry)
