"""The matching-run job: started by the API after the run is committed, executed in the
background of the same instance."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from app.db.engine import Database
from app.domain.actors import Actor
from app.domain.matching import runs

log = logging.getLogger("revmentor.matching")


async def execute_run(db: Database, run_id: uuid.UUID, *, actor: Actor | None = None) -> None:
    """Run a queued matching run to completion. Never raises: a failure is recorded on the run
    (and a run whose instance dies is failed later by the maintenance sweep)."""
    actor = actor or Actor.system()
    started = time.perf_counter()
    try:
        async with db.session() as session:
            claimed = await runs.claim_run(session, run_id)
            await session.commit()
        if not claimed:
            return  # another worker has it
        async with db.session() as session:
            await runs.perform_run(session, actor, run_id, started=started)
            await session.commit()
    except Exception as exc:
        log.exception("matching run %s failed", run_id)
        try:
            async with db.session() as session:
                await runs.record_failure(
                    session, run_id, f"{type(exc).__name__}: the run failed; see the server log"
                )
                await session.commit()
        except Exception:  # the maintenance sweep marks it failed later
            log.warning("could not record the failure of run %s", run_id, exc_info=True)


def launch_run(tasks: set[asyncio.Task[None]], db: Database, run_id: uuid.UUID) -> None:
    """Start a committed run in the background, keeping a reference in ``tasks`` (the app's
    background tasks) so it is not collected; REST and GraphQL start runs alike."""
    task = asyncio.create_task(execute_run(db, run_id))
    tasks.add(task)
    task.add_done_callback(tasks.discard)
