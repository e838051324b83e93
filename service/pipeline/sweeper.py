"""Reconciliation: every B24_SWEEP_INTERVAL, enqueue the tasks that may need an evaluation no event asked for.

Bitrix24 never re-delivers a lost event, and some changes come with no event at all. The sources:
- tasks changed since the watermark (`tasks.task.list` filtered on CHANGED_DATE): lost events;
- time entries added since the entry watermark (`task.elapseditem.getlist` across all tasks, by id):
  adding a time entry (a timer stopped at once leaves a 0-second one) fires no event and does not
  touch the task's CHANGED_DATE, so only the entries themselves reveal it;
- time entries edited in place within B24_RESCAN_HOURS (`service/pipeline/rescan.py`): an edit keeps
  the id and fires no event either;
- tasks with audit rows a read has not settled yet (a lost answer, a dead worker, a dead letter) and no
  event of their own waiting: their next read settles them (`service/pipeline/confirmation.py`).
Both feed the same journal as events, so they take the same path. One sweeper leads at a time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.bitrix.portal import PortalGateway
from service.pipeline.rescan import EditRescan
from service.store.audit import AuditLog
from service.store.journal import Journal
from service.store.sweeps import SweepState

log = logging.getLogger(__name__)

SWEEP_LEASE = timedelta(minutes=10)
# Requests of 50 new entries one sweep reads at most; a larger backlog is read by the next sweeps.
MAX_ENTRY_PAGES = 20


@dataclass(frozen=True)
class SweepReport:
    tasks: int
    watermark: datetime | None
    entry_watermark: int | None = None  # the highest time-entry id seen so far
    edited: int = 0  # tasks enqueued because an entry was edited within B24_RESCAN_HOURS
    unsettled: int = 0  # tasks enqueued to settle audit rows no read has settled yet


class Sweeper:
    def __init__(
        self,
        journal: Journal,
        gateway: PortalGateway,
        state: SweepState,
        *,
        owner: str,
        interval: float,
        audit: AuditLog | None = None,
        settle_after: timedelta = timedelta(minutes=5),
        rescan: EditRescan | None = None,
    ) -> None:
        self._journal = journal
        self._audit = audit
        self._settle_after = settle_after
        self._rescan = rescan
        self._gateway = gateway
        self._owner = owner
        self._state = state
        self._interval = interval
        self._next_at: datetime | None = None
        # The tasks the first sweep listed and left alone on purpose, with their change times: the
        # watermark includes its own second, so later sweeps list them again; unchanged, they stay alone.
        self._anchored: dict[int, datetime] = {}

    def maybe_run(self, now: datetime) -> SweepReport | None:
        interval = self._interval
        if interval <= 0 or (self._next_at is not None and now < self._next_at):
            return None
        self._next_at = now + timedelta(seconds=interval)
        return self.run_once(now)

    def run_once(self, now: datetime, since: datetime | None = None) -> SweepReport | None:
        """One pass; None when another replica is sweeping right now."""
        if not self._state.try_lead(self._owner, now, SWEEP_LEASE):
            return None
        try:
            # A first sweep only sets the watermarks: installing b24rules must not act at once on every
            # task changed lately. Back-fill on purpose with `b24rules sweep --since 7d`.
            first = since is None and self._state.watermark() is None
            start = since or self._state.watermark() or now
            listed, newest = self._changed_tasks(start)
            if first:  # listed only to anchor the watermark on the portal's clock, not to act on
                self._anchored = listed
            changed = {task for task, at in listed.items() if self._anchored.get(task) != at}
            added, last_entry = self._new_entries()
            edited = self._rescan.run(now) if self._rescan is not None else set()
            unsettled = self._unsettled(now)
            tasks = changed | added | edited | unsettled
            self._journal.enqueue_tasks(sorted(tasks), now, source="sweep")  # one commit for them all
            # The portal's own clock sets the watermark, so clock skew between us and it loses nothing.
            self._state.advance(newest, now)
            self._state.advance_entries(last_entry, now)
            log.info(
                "sweep done",
                extra={"tasks": len(tasks), "changed": len(changed), "new_entries_in": len(added),
                       "edited_entries_in": len(edited), "unsettled": len(unsettled),
                       "since": start.isoformat(), "entry_watermark": last_entry},
            )  # fmt: skip
            return SweepReport(len(tasks), newest, last_entry, len(edited), len(unsettled))
        finally:
            self._state.release(self._owner)

    def _unsettled(self, now: datetime) -> set[int]:
        """Tasks whose open audit rows outlived any running round and have no event queued to settle them."""
        if self._audit is None:
            return set()
        tasks = self._audit.unsettled_tasks(before=now - self._settle_after)
        return tasks - self._journal.open_tasks(sorted(tasks))

    def _changed_tasks(self, start: datetime) -> tuple[dict[int, datetime], datetime]:
        """Each task changed since `start` with its change time, and the newest of those times."""
        tasks: dict[int, datetime] = {}
        newest = start
        for task_id, changed in self._gateway.changed_since(start):
            tasks[task_id] = changed
            newest = max(newest, changed)
        return tasks, newest

    def _new_entries(self) -> tuple[set[int], int]:
        """Tasks with time entries newer than the entry watermark, and the new watermark."""
        mark = self._state.entry_watermark()
        if mark is None:  # first sweep: start after the newest entry there is now
            return set(), self._gateway.newest_entry_id()
        tasks: set[int] = set()
        for entry_id, task_id in self._gateway.entries_after(mark, MAX_ENTRY_PAGES):
            tasks.add(task_id)
            mark = max(mark, entry_id)
        return tasks, mark
