"""The acting half of a round: evaluations → brakes → decision → audit rows → deletions → outcomes.

Every audit row is written *before* anything is sent, so a crash mid-round leaves a record of what was
about to be deleted; each deletion's outcome is then written onto its row: `deleted` when the portal
says so, otherwise `unconfirmed` or `refused` until a fresh read of the task settles it as deleted (by
us), gone or failed (`service/pipeline/confirmation.py`). Settling the claims stays with the round
(`service/pipeline/rounds.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from service.bitrix.portal import PortalGateway
from service.core import policy
from service.core.bitrix.errors import NotFound, TransientError
from service.core.evaluation import Evaluation
from service.core.settling import UNSETTLED, describe_answer, sent_outcome
from service.pipeline.confirmation import Confirmer
from service.plumbing import metrics
from service.plumbing.sentry import capture_failure
from service.store.audit import AuditDraft, AuditLog
from service.store.breakers import Breakers
from service.store.journal import Claim

log = logging.getLogger(__name__)
ECHO_WINDOW = policy.ECHO_WINDOW
DELETE = "task.elapseditem.delete"


@dataclass(frozen=True)
class Evaluated:
    claim: Claim
    evaluation: Evaluation
    task: Mapping[str, Any] | None = None  # the task as read: what `notify` messages may name


class Enforcer:
    def __init__(
        self,
        gateway: PortalGateway,
        audit: AuditLog,
        breakers: Breakers,
        confirmer: Confirmer,
        *,
        dry_run: bool,
        max_deletions_per_hour: int,
    ) -> None:
        self._gateway = gateway
        self._audit = audit
        self._breakers = breakers
        self._confirmer = confirmer
        self._dry_run = dry_run
        self._max_per_hour = max_deletions_per_hour

    def enforce(
        self, evaluated: Sequence[Evaluated], ruleset_version: str, now: datetime
    ) -> tuple[policy.Decision, Sent]:
        """Decide what the brakes let through, audit all of it, delete what is to be sent."""
        deletions = [d for item in evaluated for d in item.evaluation.deletions]
        decision = policy.decide(deletions, self._brakes(evaluated, now))
        for rule, why in decision.newly_tripped.items():
            self._trip(rule, why, now)
        causes = {item.claim.task_id: item.claim.cause for item in evaluated}
        drafts = [
            draft_of(action, ruleset_version, causes[action.deletion.task_id]) for action in decision.actions
        ]
        audit_ids = self._audit.record(drafts, now)
        return decision, self._send(decision, audit_ids, now)

    def _brakes(self, evaluated: Sequence[Evaluated], now: datetime) -> policy.Brakes:
        deletions = [d for item in evaluated for d in item.evaluation.deletions]
        enforcing = {d.rule for d in deletions if d.enforced}
        hour_ago = now - timedelta(hours=1)
        budget = {
            rule: max(0, self._max_per_hour - self._audit.count_deleted_since(rule, hour_ago))
            for rule in enforcing
        }
        # A retry finishes its own work, and a sweep or replay is no portal event: neither is an echo.
        fresh = [item for item in evaluated if not item.claim.attempts and "event" in item.claim.sources]
        pairs = [(item.claim.task_id, d.rule) for item in fresh for d in item.evaluation.deletions]
        last = self._audit.last_deletions(pairs, now - ECHO_WINDOW)
        echo = set()
        for item in fresh:
            for rule in {d.rule for d in item.evaluation.deletions}:
                deleted_at = last.get((item.claim.task_id, rule))
                # An echo: every event of this claim arrived after our own deletion, moments ago.
                if deleted_at is not None and deleted_at <= item.claim.first_received_at:
                    echo.add((item.claim.task_id, rule))
        return policy.Brakes(
            dry_run=self._dry_run,
            tripped_rules=frozenset(self._breakers.tripped()),
            budget_left=budget,
            echo_blocked=frozenset(echo),
            restored=frozenset(self._audit.restored_items([item.claim.task_id for item in evaluated])),
        )

    def _trip(self, rule: str, why: str, now: datetime) -> None:
        if self._breakers.trip(rule, why, now):
            log.error("rule tripped to shadow", extra={"rule": rule, "reason": why})
            capture_failure(f"rule '{rule}' tripped: {why}", {"rule": rule, "kind": "circuit-breaker"})

    def _send(self, decision: policy.Decision, audit_ids: Sequence[int], now: datetime) -> Sent:
        """Delete what the decision says; record each outcome, settle the unclear ones by a fresh read."""
        pairs = list(zip(decision.actions, audit_ids, strict=True))
        for action, _ in pairs:
            if action.outcome != policy.SEND:
                metrics.DELETIONS.labels(rule=action.deletion.rule, outcome=action.outcome).inc()
        sending = [(a, i) for a, i in pairs if a.outcome == policy.SEND]
        sent = Sent()
        if not sending:
            return sent
        items = [(a.deletion.task_id, a.deletion.item_id) for a, _ in sending]
        try:
            answers: dict[tuple[int, int], object] = dict(self._gateway.delete(items))
        except Exception as error:  # the request itself broke down: whether it ran is unknown
            answers = dict.fromkeys(items, error)
        settled = []
        for action, audit_id in sending:
            key = _key(action)
            answer = answers.get(key)
            outcome = sent.outcomes[key] = sent_outcome(answer)
            settled.append((audit_id, outcome, describe_answer(answer)))
        changed = self._audit.set_outcomes(settled, now)  # the round's outcomes in one transaction
        for action, audit_id in sending:  # a row someone else settled meanwhile was counted by them
            if sent.outcomes[_key(action)] == "deleted" and audit_id in changed:
                metrics.DELETIONS.labels(rule=action.deletion.rule, outcome="deleted").inc()
        self._confirm(sending, answers, sent, now)
        return sent

    def _confirm(
        self,
        sending: Sequence[tuple[policy.Action, int]],
        answers: dict[tuple[int, int], object],
        sent: Sent,
        now: datetime,
    ) -> None:
        """Re-read the tasks with unclear deletions; what is still open or failed fails the task's claim."""
        unclear = {a.deletion.task_id for a, _ in sending if sent.outcomes[_key(a)] in UNSETTLED}
        settled = self._confirmer.reread(sorted(unclear), now) if unclear else {}
        for action, audit_id in sending:
            key = _key(action)
            sent.outcomes[key] = settled.get(audit_id, sent.outcomes[key])
            if sent.outcomes[key] in ("failed", *UNSETTLED):
                error = _error_of(answers.get(key))
                sent.failures.setdefault(key[0], RuleFailure(action.deletion.rule, error))


def _key(action: policy.Action) -> tuple[int, int]:
    return (action.deletion.task_id, action.deletion.item_id)


def _error_of(answer: object) -> BaseException:
    """What fails the claim: the portal's own error, so a permanent one dead-letters and a lost answer
    is retried. "Not found" while the entry is still there (a webhook that cannot see it) is permanent."""
    if isinstance(answer, BaseException):
        return answer
    if answer == "gone":
        return NotFound("ERROR_CORE", "not found, yet the entry is still there", None, DELETE)
    return TransientError("NO_ANSWER", "no answer for this deletion", None, DELETE)


@dataclass
class Sent:
    """What the portal made of a round's deletions."""

    # (task, item) → deleted | gone | failed, or unconfirmed | refused when the re-read failed too
    outcomes: dict[tuple[int, int], str] = field(default_factory=dict)
    failures: dict[int, BaseException] = field(default_factory=dict)  # the first failure per task


class RuleFailure(Exception):
    """A deletion failure, remembering which rule wanted it (for Sentry tags)."""

    def __init__(self, rule: str, error: BaseException) -> None:
        super().__init__(str(error))
        self.rule = rule
        self.error = error


def draft_of(action: policy.Action, version: str, cause: str) -> AuditDraft:
    deletion = action.deletion
    return AuditDraft(
        task_id=deletion.task_id,
        item_id=deletion.item_id,
        rule=deletion.rule,
        ruleset_version=version,
        mode=deletion.mode,
        outcome=action.outcome,
        entry=dict(deletion.entry),
        trace=[trace_row(t) for t in deletion.trace],
        reason="; ".join(x for x in (deletion.reason, action.note) if x),
        cause=cause,
    )


def trace_row(trace: object) -> dict[str, object]:
    fields = ("path", "op", "expected", "actual", "ok")
    return {name: _plain(getattr(trace, name, None)) for name in fields}


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)
