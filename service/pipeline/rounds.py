"""One processing round: claimed tasks → one batched read → plans → decisions → audit → deletions.

The shell around the pure core. It reads the portal through the gateway (few, batched requests), settles
the deletions an earlier round left open from that read (`service/pipeline/confirmation.py`), asks the
engine for a plan, hands the plans to the enforcer (`service/pipeline/enforcement.py`: brakes,
decisions, audit rows *before* anything is sent, batched deletes), and settles each claim as done,
retry (transient) or dead letter (permanent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from service.bitrix.portal import PortalGateway, TaskState
from service.core import policy
from service.core.bitrix.errors import NotFound
from service.core.evaluation import ClaimView, Evaluation, evaluate_claim, listened_names
from service.core.rules import RuleSet, needs_history, task_select
from service.pipeline.confirmation import Confirmer
from service.pipeline.enforcement import Enforcer, Evaluated, RuleFailure, Sent
from service.pipeline.notifying import Notifier, notables
from service.pipeline.settlement import Settlement
from service.plumbing import metrics
from service.plumbing.clock import utcnow
from service.plumbing.rulesource import RuleSource
from service.plumbing.sentry import capture_failure
from service.store.decided import DecidedTasks
from service.store.journal import Claim, Journal
from service.store.snapshots import Snapshot, TaskSnapshots

log = logging.getLogger(__name__)


class Processor:
    def __init__(
        self,
        journal: Journal,
        rules: RuleSource,
        gateway: PortalGateway,
        enforcer: Enforcer,
        snapshots: TaskSnapshots,
        settlement: Settlement,
        *,
        confirmer: Confirmer,
        notifier: Notifier | None = None,
        decided: DecidedTasks | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._journal = journal
        self._rules = rules
        self._gateway = gateway
        self._clock = clock
        self._enforcer = enforcer
        self._snapshots = snapshots
        self._settlement = settlement
        self._notifier = notifier
        self._confirmer = confirmer
        self._decided = decided
        self._book = _Bookkeeping()

    def run(self, claims: Sequence[Claim]) -> bool:
        """Evaluate and act on the claimed tasks; every claim leaves settled (done, retry or dead).

        Returns False when nothing could be done because no good rule set has loaded yet: the claims
        go back untouched and the caller should wait before claiming again.
        """
        now = self._clock()
        ruleset = self._rules.current()
        if ruleset is None:
            for claim in claims:
                self._journal.release(claim)
            return False
        self._book = _Bookkeeping()
        try:
            self._run(ruleset, claims, now)
        finally:
            self._book.flush(self._journal, self._snapshots, now)
        return True

    def _run(self, ruleset: RuleSet, claims: Sequence[Claim], now: datetime) -> None:
        work = [claim for claim in claims if self._needs_work(ruleset, claim, now)]
        if not work:
            return
        self._book.snapshots = self._snapshots.get_many([claim.task_id for claim in work])
        states = self._fetch(ruleset, work)
        # Deletions an earlier round left open (lost answer, dead worker) are settled by this read
        # before the rules see the task: a settled row must not block, or double, a deletion.
        self._confirmer.from_states(states, now)
        evaluated = [e for claim in work if (e := self._evaluate(ruleset, claim, states, now)) is not None]
        if evaluated:
            self._act(evaluated, ruleset, now)

    def settle_failed(self, claim: Claim, error: BaseException) -> None:
        """Retry (or dead-letter) a claim whose round broke down unexpectedly."""
        self._settlement.failed(claim, error, self._clock())

    def _needs_work(self, ruleset: RuleSet, claim: Claim, now: datetime) -> bool:
        if "ONTASKDELETE" in claim.names:
            self._snapshots.forget(claim.task_id)
        if listened_names(ruleset, claim.names):
            return True
        self._book.done.append(claim)
        return False

    def _fetch(self, ruleset: RuleSet, work: Sequence[Claim]) -> dict[int, TaskState | BaseException]:
        task_ids = [claim.task_id for claim in work]
        history_for = set()
        if needs_history(ruleset):
            history_for = {t for t in task_ids if t not in self._book.snapshots}
        try:
            return dict(self._gateway.fetch(task_ids, task_select(ruleset), history_for))
        except Exception as error:  # the whole batch failed: every claim shares the error
            return dict.fromkeys(task_ids, error)

    def _evaluate(
        self, ruleset: RuleSet, claim: Claim, states: dict[int, TaskState | BaseException], now: datetime
    ) -> Evaluated | None:
        state = states.get(claim.task_id)
        if isinstance(state, NotFound) or (isinstance(state, TaskState) and state.task is None):
            self._snapshots.forget(claim.task_id)  # the task is gone: nothing left to clean
            self._book.done.append(claim)
            return None
        if not isinstance(state, TaskState) or state.task is None:
            error = state if isinstance(state, BaseException) else RuntimeError("no answer for this task")
            self._settlement.failed(claim, error, now)
            return None
        snapshot = self._book.snapshots.get(claim.task_id)
        try:
            evaluation = evaluate_claim(
                ruleset,
                view_of(claim),
                task=state.task,
                entries=state.entries,
                history=state.history,
                stored_status=snapshot.status if snapshot else None,
                now=now,
                trace=False,  # the audit needs the deletions' traces only: the engine adds those
            )
        except Exception as error:  # a bug, not the portal: report it and retry later
            log.exception("evaluation failed", extra={"task_id": claim.task_id})
            self._settlement.failed(claim, error, now)
            return None
        return Evaluated(claim, evaluation, state.task)

    def _act(self, evaluated: Sequence[Evaluated], ruleset: RuleSet, now: datetime) -> None:
        decision, sent = self._enforcer.enforce(evaluated, ruleset.version, now)
        self._remember(evaluated, decision, now)
        self._announce(evaluated, ruleset, decision, sent, now)
        for item in evaluated:
            self._finish(item, sent, decision, now)

    def _remember(self, evaluated: Sequence[Evaluated], decision: policy.Decision, now: datetime) -> None:
        """Keep the task each audited decision was made on (for `diff --from-audit`)."""
        decided = {action.deletion.task_id for action in decision.actions}
        if self._decided is None or not decided:
            return
        self._decided.put(
            [
                (item.claim.task_id, item.task, item.evaluation.transition.previous_status)
                for item in evaluated
                if item.task is not None and item.claim.task_id in decided
            ],
            now,
        )

    def _announce(
        self,
        evaluated: Sequence[Evaluated],
        ruleset: RuleSet,
        decision: policy.Decision,
        sent: Sent,
        now: datetime,
    ) -> None:
        """Tell people about the deletions (rules with `notify`); a failure here never touches a deletion."""
        if self._notifier is None:
            return
        tasks = {item.claim.task_id: item.task for item in evaluated if item.task is not None}
        try:
            self._notifier.announce(notables(ruleset, decision.actions, sent.outcomes, tasks), now)
        except Exception as error:
            log.exception("notifying failed")
            capture_failure(error, {"stage": "notify"})

    def retry_notices(self, now: datetime) -> None:
        """Send again the notifications that failed (called while the worker is idle)."""
        if self._notifier is not None:
            self._notifier.retry_due(now)

    def _finish(self, item: Evaluated, sent: Sent, decision: policy.Decision, now: datetime) -> None:
        claim, evaluation = item.claim, item.evaluation
        failure = sent.failures.get(claim.task_id)
        log_evaluation(claim, evaluation, decision, sent.outcomes, started=now, finished=self._clock())
        for plan in evaluation.plans:
            for outcome in plan.outcomes:
                acted = any(d.rule == outcome.rule for d in evaluation.deletions)
                metrics.EVALUATIONS.labels(rule=outcome.rule, acted=str(acted).lower()).inc()
        if failure is not None:
            rule = failure.rule if isinstance(failure, RuleFailure) else None
            cause = failure.error if isinstance(failure, RuleFailure) else failure
            self._settlement.failed(claim, cause, now, rule=rule)
            return
        if evaluation.status is not None:
            self._book.seen[claim.task_id] = evaluation.status
        self._book.done.append(claim)


@dataclass
class _Bookkeeping:
    """A round's writes that need not happen one task at a time: done claims and the tasks' snapshots,
    written when the round ends in two transactions instead of two per task (the snapshots first, as
    before: a claim is never done without its snapshot). The snapshots read once, for every task."""

    done: list[Claim] = field(default_factory=list)
    seen: dict[int, int] = field(default_factory=dict)  # task → status to remember
    snapshots: dict[int, Snapshot] = field(default_factory=dict)

    def flush(self, journal: Journal, snapshots: TaskSnapshots, now: datetime) -> None:
        snapshots.put_many(self.seen, now)
        journal.complete_many(self.done, now)


def view_of(claim: Claim) -> ClaimView:
    latest = claim.latest
    return ClaimView(claim.task_id, claim.names, latest.ts, latest.domain, latest.member_id, latest.source)


def log_evaluation(
    claim: Claim,
    evaluation: Evaluation,
    decision: policy.Decision,
    settled: Mapping[tuple[int, int], str],
    *,
    started: datetime,
    finished: datetime,
) -> None:
    """One JSON line per evaluation. `owner`, `started` and `finished` (the round's start, and the moment
    before the claim is settled) let an operator or a test see that no two workers held a task at once."""
    mine = {d.item_id for d in evaluation.deletions}
    outcomes: dict[str, int] = {}
    for action in decision.actions:
        if action.deletion.item_id in mine and action.deletion.task_id == claim.task_id:
            # What happened (deleted, gone, failed), not the "pending" the policy handed over.
            final = settled.get((claim.task_id, action.deletion.item_id), action.outcome)
            outcomes[final] = outcomes.get(final, 0) + 1
    rules = {
        outcome.rule: {"applies": outcome.applies, "selected": sum(v.selected for v in outcome.verdicts)}
        for plan in evaluation.plans
        for outcome in plan.outcomes
    }
    log.info(
        "evaluated",
        extra={
            "task_id": claim.task_id,
            "events": list(claim.event_ids),
            "names": list(claim.names),
            "source": claim.latest.source,
            "reopened": evaluation.transition.reopened,
            "rules": rules,
            "outcomes": outcomes,
            "owner": claim.owner,
            "attempts": claim.attempts,
            "started": started.isoformat(timespec="microseconds"),
            "finished": finished.isoformat(timespec="microseconds"),
        },
    )
