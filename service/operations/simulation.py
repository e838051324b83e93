"""`b24rules simulate`: evaluate one live task read-only and explain the result.

It reads what the worker would read — the same task fields, and the status history only when a rule
needs the previous status and no snapshot is stored — so the report shows what the service would do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from service.bitrix.portal import PortalGateway, TaskState
from service.core import policy
from service.core.engine import Deletion
from service.core.evaluation import ClaimView, evaluate_claim
from service.core.explain import explain, fates_of
from service.core.rules import RuleSet, needs_history, task_select
from service.plumbing.clock import utcnow
from service.plumbing.rulesource import RuleSource
from service.store.audit import AuditLog
from service.store.breakers import Breakers
from service.store.snapshots import TaskSnapshots


class SimulationError(Exception):
    pass


class Simulator:
    """Read-only: what the worker would do to one task now, with the per-condition reasons."""

    def __init__(
        self,
        rules: RuleSource,
        gateway: PortalGateway,
        snapshots: TaskSnapshots,
        breakers: Breakers,
        audit: AuditLog,
        *,
        dry_run: bool,
        max_deletions_per_hour: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._rules = rules
        self._gateway = gateway
        self._snapshots = snapshots
        self._breakers = breakers
        self._audit = audit
        self._dry_run = dry_run
        self._max_per_hour = max_deletions_per_hour
        self._clock = clock

    def task(self, task_id: int, event_name: str, *, use_snapshot: bool = True) -> str:
        ruleset = self._rules.current()
        if ruleset is None:
            problems = "; ".join(self._rules.status().problems[:5])
            raise SimulationError(f"the rules do not load: {problems}")
        snapshot = self._snapshots.get(task_id) if use_snapshot else None
        with_history = {task_id} if needs_history(ruleset) and snapshot is None else set()
        select = tuple(dict.fromkeys((*task_select(ruleset), "TITLE")))  # the title only labels the report
        state = self._gateway.fetch([task_id], select, with_history)[task_id]
        if isinstance(state, BaseException):
            raise SimulationError(f"cannot read task {task_id}: {state}")
        assert isinstance(state, TaskState)
        if state.task is None:
            raise SimulationError(f"task {task_id} does not exist or the webhook's user cannot see it")
        view = ClaimView(task_id, (event_name,), None, "", "", "event")
        now = self._clock()
        evaluation = evaluate_claim(
            ruleset,
            view,
            task=state.task,
            entries=state.entries,
            history=state.history,
            stored_status=snapshot.status if snapshot else None,
            now=now,
        )
        decision = policy.decide(evaluation.deletions, self._brakes(task_id, evaluation.deletions, now))
        basis = ""
        if snapshot is not None:
            basis = f"from the snapshot stored {snapshot.seen_at:%Y-%m-%d %H:%M} UTC"
        elif state.history is not None:
            basis = "from the task's status history: no snapshot stored"
        report = explain(
            evaluation.plans,
            task=state.task,
            entries=state.entries,
            transition=evaluation.transition,
            basis=basis,
            notes=self._notes(ruleset),
            descriptions={rule.name: rule.description for rule in ruleset.rules},
            fates=fates_of(decision),
        )
        return report + "\n\nread-only: nothing was deleted, recorded or changed."

    def _brakes(self, task_id: int, deletions: Sequence[Deletion], now: datetime) -> policy.Brakes:
        """The brakes the worker would apply if a portal event for the task arrived now (the same
        `policy.decide`): restored entries, the self-echo guard, tripped rules, dry-run, the budget."""
        rules = {d.rule for d in deletions}
        hour_ago, echo_since = now - timedelta(hours=1), now - policy.ECHO_WINDOW
        return policy.Brakes(
            dry_run=self._dry_run,
            tripped_rules=frozenset(self._breakers.tripped()),
            budget_left={
                r: max(0, self._max_per_hour - self._audit.count_deleted_since(r, hour_ago)) for r in rules
            },
            echo_blocked=frozenset(
                (task_id, r)
                for r in rules
                if self._audit.last_deletion_at(task_id, r, echo_since) is not None
            ),
            restored=frozenset(self._audit.restored_items([task_id])),
        )

    def _notes(self, ruleset: RuleSet) -> list[str]:
        """What would stop a deletion after the plan: dry-run, and rules tripped to shadow by a breaker."""
        notes = []
        if self._dry_run:
            notes.append("B24_DRY_RUN is on: the service records what it would delete and deletes nothing")
        names = {rule.name for rule in ruleset.rules}
        for rule, trip in self._breakers.tripped().items():
            if rule in names:
                since = f"{trip.tripped_at:%Y-%m-%d %H:%M} UTC"
                notes.append(
                    f"rule {rule} is tripped since {since} ({trip.reason}): it deletes nothing until re-armed"
                )
        return notes
