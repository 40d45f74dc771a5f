"""The ``/api/v1`` router: every route in it requires an authenticated caller."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.api.deps import require_actor
from app.api.rest import (
    audit,
    blocks,
    check_ins,
    concerns,
    employees,
    enrollments,
    feedback,
    goals,
    hris,
    matching_runs,
    me,
    pairing_requests,
    pairings,
    programs,
    reports,
    tokens,
)


def build_api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_actor)])
    # Routes are matched in this order, one by one: the HRIS sync's bulk pushes (a sync job
    # sends a few hundred a run, each a thousand records) come first.
    for module in (
        hris,
        me,
        employees,
        programs,
        enrollments,
        matching_runs,
        pairings,
        pairing_requests,
        blocks,
        goals,
        check_ins,
        feedback,
        concerns,
        reports,
        tokens,
        audit,
    ):
        router.include_router(module.router)
    return router
