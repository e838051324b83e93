"""`b24rules diff`: compare the running rule set with a proposed one on real tasks, read-only.

Live: the tasks with events or decisions in a window (or named ones) are read from the portal the way
the worker reads them — several tasks per `batch`, through the shared rate limiter — and both sets are
evaluated on the same state. From the audit: the same comparison over the entries the audit kept, with
no portal call at all. Nothing is deleted, recorded or changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.bitrix.portal import PortalGateway, TaskState
from service.core import policy
from service.core.evaluation import ClaimView, evaluate_claim
from service.core.rulediff import Diff, TaskComparison, compare
from service.core.rules import RuleSet, needs_history, task_select
from service.plumbing.clock import utcnow
from service.store.audit import AuditLog, AuditRecord
from service.store.breakers import Breakers
from service.store.decided import DecidedTasks
from service.store.snapshots import TaskSnapshots

AUDIT_LIMIT = 1_000_000  # every record of the window: the audit is pruned by retention, not here


class DiffError(Exception):
    pass


@dataclass(frozen=True)
class DiffReport:
    diff: Diff
    running: str
    proposed: str
    tasks_read: int
    entries: int
    source: str  # "portal" | "audit"


@dataclass(frozen=True)
class _TaskInput:
    task_id: int
    names: tuple[str, ...]
    task: Mapping[str, Any]
    entries: Sequence[Mapping[str, Any]]
    history: Sequence[Mapping[str, Any]] | None
    previous_status: int | None = None  # the status before, as seen when the rules decided
    audited: bool = False  # from the audit: the transition is the one seen then, not the snapshot's


class RuleDiffer:
    def __init__(
        self,
        snapshots: TaskSnapshots,
        breakers: Breakers,
        audit: AuditLog,
        decided: DecidedTasks,
        *,
        gateway: PortalGateway | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._gateway = gateway
        self._snapshots = snapshots
        self._breakers = breakers
        self._audit = audit
        self._decided = decided
        self._clock = clock

    def live(self, running: RuleSet, proposed: RuleSet, tasks: Mapping[int, tuple[str, ...]]) -> DiffReport:
        """Read `tasks` (id → event names to evaluate) from the portal and compare the two sets on them."""
        if self._gateway is None:
            raise DiffError("no portal configured: set B24_WEBHOOK_URL, or use --from-audit")
        select = tuple(dict.fromkeys((*task_select(running), *task_select(proposed))))
        history = needs_history(running) or needs_history(proposed)
        with_history = {t for t in tasks if history and self._snapshots.get(t) is None}
        states = self._gateway.fetch(list(tasks), select, with_history)
        inputs = []
        for task_id, names in tasks.items():
            state = states.get(task_id)
            if isinstance(state, BaseException):
                raise DiffError(f"cannot read task {task_id}: {state}")
            if isinstance(state, TaskState) and state.task is not None:
                inputs.append(_TaskInput(task_id, names, state.task, state.entries, state.history))
        return self._report(running, proposed, inputs, "portal")

    def from_audit(
        self, running: RuleSet, proposed: RuleSet, since: datetime | None, task_ids: Sequence[int] = ()
    ) -> DiffReport:
        """The same comparison over the entries the audit kept (latest record per entry); no portal call."""
        records = self._audit.query(since=since, limit=AUDIT_LIMIT, portal=self._audit.portal)
        wanted = set(task_ids)
        latest: dict[tuple[int, int], AuditRecord] = {}
        for record in records:  # newest first: the first seen is the latest
            if not wanted or record.task_id in wanted:
                latest.setdefault((record.task_id, record.item_id), record)
        by_task: dict[int, list[Mapping[str, Any]]] = {}
        for (task_id, _), record in sorted(latest.items()):
            by_task.setdefault(task_id, []).append(record.entry)
        decided = self._decided.get(list(by_task))
        inputs = []
        for task_id, entries in by_task.items():
            known = decided.get(task_id)
            # Without a stored task (audited before tasks were kept), only its id is known.
            task = known.task if known else {"id": str(task_id)}
            previous = known.previous_status if known else None
            inputs.append(_TaskInput(task_id, ("ONTASKUPDATE",), task, entries, None, previous, True))
        return self._report(running, proposed, inputs, "audit")

    def _report(
        self, running: RuleSet, proposed: RuleSet, inputs: Sequence[_TaskInput], source: str
    ) -> DiffReport:
        now = self._clock()
        comparisons = [
            TaskComparison(
                item.task_id, self._evaluate(running, item, now), self._evaluate(proposed, item, now)
            )
            for item in inputs
        ]
        brakes = policy.Brakes(
            tripped_rules=frozenset(self._breakers.tripped()),
            restored=frozenset(self._audit.restored_items([item.task_id for item in inputs])),
        )
        entries = sum(len(item.entries) for item in inputs)
        return DiffReport(
            compare(comparisons, brakes), running.version, proposed.version, len(inputs), entries, source
        )

    def _evaluate(self, ruleset: RuleSet, item: _TaskInput, now: datetime) -> Any:
        snapshot = None if item.audited else self._snapshots.get(item.task_id)
        stored = item.previous_status if item.audited else (snapshot.status if snapshot else None)
        return evaluate_claim(
            ruleset,
            ClaimView(item.task_id, item.names, None, "", "", "event"),
            task=item.task,
            entries=item.entries,
            history=item.history,
            stored_status=stored,
            now=now,
        )
