"""The processing loop: claim tasks, process them, keep their leases alive; sweep and prune when idle.

Any number of these run against one database. SIGTERM stops claiming; the round in progress finishes
(its leases are extended while it runs), so a rolling update loses nothing. A SIGKILL loses nothing
either: the leases simply expire and another worker takes the events.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from service.pipeline.rightscheck import RightsGate
from service.pipeline.rounds import Processor
from service.pipeline.sweeper import Sweeper
from service.plumbing.clock import utcnow
from service.plumbing.rulesource import RuleSource
from service.plumbing.sentry import EPISODES
from service.store.audit import AuditLog
from service.store.claims import NO_WAIT, QuietWindow
from service.store.decided import DecidedTasks
from service.store.journal import Claim, Journal
from service.store.notices import NoticeLog
from service.store.snapshots import TaskSnapshots

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
PRUNE_EVERY = timedelta(hours=1)
SNAPSHOT_RETENTION = timedelta(days=180)
# Tasks per round: with a deep queue, one round reads 100 tasks in 4 batches (7 with status history) and
# deletes for all of them 50 to a batch, instead of a read and a delete request per handful of tasks.
MAX_TASKS = 100
# The portal posts one event per change, so an edit session or a bulk update arrives as a trickle of
# events for the same task; waiting until the task is quiet for a moment folds them into one evaluation
# (one read) instead of one per claim. `patience` bounds the wait for a task that never goes quiet.
# But a lone event is not a trickle: while at most `idle` events arrived in the last `quiet`, a task is
# claimed at once, so an entry logged on a quiet portal goes within a poll and two requests (read,
# delete) — provided the rate budget has IDLE_CLAIM_ROOM requests to spare; near the limit, folding
# events saves more than it costs.
QUIET = QuietWindow(quiet=timedelta(seconds=2), patience=timedelta(seconds=10), idle=3)
IDLE_CLAIM_ROOM = 5


@dataclass(frozen=True)
class Retention:
    """How long processed events and audit records are kept, and the stores pruned with them."""

    audit_log: AuditLog
    snapshots: TaskSnapshots
    events: timedelta
    audit: timedelta
    # Kept as long as the audit: the tasks decisions were made on, and the messages sent about them.
    decided: DecidedTasks | None = None
    notices: NoticeLog | None = None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(
        self,
        journal: Journal,
        rules: RuleSource,
        processor: Processor,
        sweeper: Sweeper | None,
        retention: Retention,
        *,
        owner: str | None = None,
        max_tasks: int = MAX_TASKS,
        quiet: QuietWindow = QUIET,
        lease: timedelta = LEASE,
        poll_seconds: float = 0.5,
        clock: Callable[[], datetime] = utcnow,
        has_room: Callable[[], bool] = lambda: True,
        gate: RightsGate | None = None,
    ) -> None:
        self._journal = journal
        self._rules = rules
        self._processor = processor
        self._sweeper = sweeper
        self._retention = retention
        self._owner = owner or worker_name()
        self._max_tasks = max_tasks
        self._quiet = quiet
        self._lease = lease
        self._poll = poll_seconds
        self._clock = clock
        self._has_room = has_room
        self._pruned_at: datetime | None = None
        self._gate = gate
        self._in_hand: Sequence[Claim] = ()  # the claims of the round in progress (see `abandon`)

    def run(self, stop: threading.Event) -> None:
        log.info("worker started", extra={"owner": self._owner})
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception as error:  # the loop must survive anything (a database blip, a bug)
                log.exception("worker round failed")
                # Every poll of an outage fails alike: one report per episode, not one per poll.
                EPISODES.failed("worker-loop", error, {"stage": "worker-loop"})
                busy = False
            else:
                EPISODES.recovered("worker-loop")
            if not busy:
                self._idle()
                stop.wait(self._poll)
        log.info("worker stopped", extra={"owner": self._owner})

    def run_once(self, quiet: QuietWindow | None = None) -> bool:
        """Claim and process one round; return whether there was anything to do."""
        if self._gate is not None and not self._gate.allows():
            return False  # not an administrator's credentials (portal_checks says why): events wait
        window = self._quiet if quiet is None else quiet
        if window.idle and not self._has_room():
            window = replace(window, idle=0)  # the rate budget is short: fold events, even a lone one
        claims = self._journal.claim(
            self._owner, self._clock(), lease=self._lease, max_tasks=self._max_tasks, quiet=window
        )
        if not claims:
            return False
        self._in_hand = claims
        try:
            busy = self._process(claims)
        finally:
            self._in_hand = ()
        return busy

    def _process(self, claims: Sequence[Claim]) -> bool:
        with _Heartbeat(self._journal, claims, self._clock, self._lease):
            try:
                busy = self._processor.run(claims)
            except Exception as error:
                log.exception("processing round failed", extra={"tasks": [c.task_id for c in claims]})
                EPISODES.failed("processing", error, {"stage": "processing"})
                for claim in claims:  # settled claims are left alone by the journal
                    self._processor.settle_failed(claim, error)
                return True
        EPISODES.recovered("processing")
        return busy

    def abandon(self) -> int:
        """Give back the tasks of the round in progress (shutdown past its grace): pending again with no
        attempt counted, for another worker at once. Claims the round already settled are not ours any
        more and stay as they are; the deletes it sent are idempotent and audited before sending."""
        released = 0
        for claim in self._in_hand:
            try:
                released += self._journal.release(claim)
            except Exception:  # the database is gone too: the lease expires and another worker takes it
                log.exception("could not release a claim", extra={"task_id": claim.task_id})
        return released

    def drain(self, timeout: float | None = 60.0) -> int:
        """Process until the queue is empty, or until `timeout` seconds have passed (None: no limit, as
        `worker --once` asks); return the number of rounds."""
        rounds = 0
        deadline = None if timeout is None else self._clock() + timedelta(seconds=timeout)
        while (deadline is None or self._clock() < deadline) and self.run_once(NO_WAIT):  # no quiet window
            rounds += 1
        return rounds

    def _idle(self) -> None:
        now = self._clock()
        # Notice a changed (or broken) rules folder while no events arrive, so it is reported at once.
        self._rules.maybe_refresh()
        if self._sweeper is not None:
            try:
                report = self._sweeper.maybe_run(now)
            except Exception as error:
                log.exception("sweep failed")
                EPISODES.failed("sweep", error, {"stage": "sweep"})
            else:
                if report is not None:  # a sweep ran and worked (None: not due, or another one leads)
                    EPISODES.recovered("sweep")
        try:
            self._processor.retry_notices(now)
        except Exception as error:  # on every idle pass while it fails: one report per episode
            log.exception("notification retry failed")
            EPISODES.failed("notify", error, {"stage": "notify"})
        else:
            EPISODES.recovered("notify")
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            self._prune(now)

    def _prune(self, now: datetime) -> None:
        """Forget processed events, audit records and long-unseen task snapshots past their retention."""
        keep = self._retention
        events = self._journal.prune(now, done_older_than=keep.events)
        records = keep.audit_log.prune(now, older_than=keep.audit)
        snapshots = keep.snapshots.prune(now, unseen_for=SNAPSHOT_RETENTION)
        for store in (keep.decided, keep.notices):
            if store is not None:
                records += store.prune(now, older_than=keep.audit)
        if events or records or snapshots:
            log.info("pruned", extra={"events": events, "audit_records": records, "snapshots": snapshots})


class _Heartbeat:
    """Extends the leases of the claims in hand every third of the lease while a round runs."""

    def __init__(
        self, journal: Journal, claims: Sequence[Claim], clock: Callable[[], datetime], lease: timedelta
    ) -> None:
        self._journal = journal
        self._claims = claims
        self._clock = clock
        self._lease = lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._lease.total_seconds() / 3):
            try:
                self._journal.heartbeat(self._claims, self._clock(), self._lease)
            except Exception:
                log.exception("lease heartbeat failed")
