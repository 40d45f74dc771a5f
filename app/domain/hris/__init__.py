"""HRIS sync: employee records pushed by the company's HR system, in deltas or full snapshots.

One employee directory sits behind every way in (the bulk API, CSV import, SCIM); this package
owns the bulk writes and the sync runs that report on them.
"""

from app.domain.hris.push import OUTCOME, RecordResult, RunKind, link_pending_managers
from app.domain.hris.records import MAX_RECORDS, HrisRecord
from app.domain.hris.runs import (
    RunStatus,
    abort_run,
    approve_run,
    commit_snapshot,
    get_run,
    list_runs,
    open_snapshot,
    push_delta,
    push_snapshot_page,
    reject_run,
)

__all__ = [
    "MAX_RECORDS",
    "OUTCOME",
    "HrisRecord",
    "RecordResult",
    "RunKind",
    "RunStatus",
    "abort_run",
    "approve_run",
    "commit_snapshot",
    "get_run",
    "link_pending_managers",
    "list_runs",
    "open_snapshot",
    "push_delta",
    "push_snapshot_page",
    "reject_run",
]
