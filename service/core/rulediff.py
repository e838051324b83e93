"""What a rule change would change: the entries whose fate differs between two rule sets (pure).

Both sets are evaluated on the same tasks and entries; each side's deletions then pass the same brakes
the worker applies (`policy.decide`: shadow mode, limits, tripped rules, entries restored by an
operator). An entry's fate is "deleted" when the brakes would send its deletion. The diff lists, per
rule, the entries newly deleted and no longer deleted with the per-condition reason on both sides, and
counts those whose fate is unchanged. `b24rules diff` prints it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from service.core import policy
from service.core.conditions import ConditionTrace
from service.core.engine import Deletion
from service.core.evaluation import Evaluation

NEWLY_DELETED = "newly deleted"
NO_LONGER_DELETED = "no longer deleted"
_Key = tuple[int, int]


@dataclass(frozen=True)
class TaskComparison:
    """One task evaluated by the running set (`old`) and the proposed one (`new`)."""

    task_id: int
    old: Evaluation
    new: Evaluation


@dataclass(frozen=True)
class Change:
    task_id: int
    item_id: int
    rule: str  # the rule that deletes it: in the new set when newly deleted, in the old one otherwise
    kind: str  # NEWLY_DELETED | NO_LONGER_DELETED
    entry: Mapping[str, object]  # the entry as read (or as the audit kept it)
    now: str  # why it is deleted (or not) with the proposed set
    before: str  # why it was not (or was) with the running set


@dataclass
class RuleChanges:
    rule: str
    newly_deleted: list[Change] = field(default_factory=list)
    no_longer_deleted: list[Change] = field(default_factory=list)
    unchanged: int = 0  # entries this rule deletes with both sets


@dataclass(frozen=True)
class Diff:
    rules: tuple[RuleChanges, ...]
    tasks: int

    @property
    def newly_deleted(self) -> int:
        return sum(len(rule.newly_deleted) for rule in self.rules)

    @property
    def no_longer_deleted(self) -> int:
        return sum(len(rule.no_longer_deleted) for rule in self.rules)

    def changes(self) -> list[Change]:
        return [c for rule in self.rules for c in (*rule.newly_deleted, *rule.no_longer_deleted)]


def compare(tasks: Sequence[TaskComparison], brakes: policy.Brakes) -> Diff:
    """The entries whose fate differs; `brakes` are the persistent ones (restored entries, tripped rules)."""
    old = _fates([d for t in tasks for d in t.old.deletions], brakes)
    new = _fates([d for t in tasks for d in t.new.deletions], brakes)
    evaluations = {t.task_id: t for t in tasks}
    rules: dict[str, RuleChanges] = {}

    def changes_of(rule: str) -> RuleChanges:
        return rules.setdefault(rule, RuleChanges(rule))

    for key, action in new.items():
        if _deleted(action) and _deleted(old.get(key)):
            changes_of(action.deletion.rule).unchanged += 1
        elif _deleted(action):
            before = _why_not(old.get(key), evaluations[key[0]].old, action.deletion)
            changes_of(action.deletion.rule).newly_deleted.append(
                _change(action.deletion, NEWLY_DELETED, action.deletion.reason, before)
            )
    for key, action in old.items():
        if _deleted(action) and not _deleted(new.get(key)):
            now = _why_not(new.get(key), evaluations[key[0]].new, action.deletion)
            changes_of(action.deletion.rule).no_longer_deleted.append(
                _change(action.deletion, NO_LONGER_DELETED, now, action.deletion.reason)
            )
    ordered = tuple(sorted(rules.values(), key=lambda r: r.rule))
    for item in ordered:
        item.newly_deleted.sort(key=lambda c: (c.task_id, c.item_id))
        item.no_longer_deleted.sort(key=lambda c: (c.task_id, c.item_id))
    return Diff(ordered, len(tasks))


def _fates(deletions: Sequence[Deletion], brakes: policy.Brakes) -> dict[_Key, policy.Action]:
    decision = policy.decide(deletions, brakes)
    return {(a.deletion.task_id, a.deletion.item_id): a for a in decision.actions}


def _deleted(action: policy.Action | None) -> bool:
    return action is not None and action.outcome == policy.SEND


def _change(deletion: Deletion, kind: str, now: str, before: str) -> Change:
    return Change(deletion.task_id, deletion.item_id, deletion.rule, kind, deletion.entry, now, before)


def _why_not(action: policy.Action | None, evaluation: Evaluation, other: Deletion) -> str:
    """Why the other side does not delete the entry that `other` deletes."""
    if action is not None:  # selected there, but held by a brake (shadow, limit, restored, tripped)
        return f"selected by {action.deletion.rule} but not deleted: {action.note or action.outcome}"
    outcomes = [o for plan in evaluation.plans for o in plan.outcomes if o.rule == other.rule]
    if not outcomes:
        return f"rule {other.rule} is absent, disabled or not listening to this event"
    outcome = outcomes[0]
    if not outcome.applies:
        return f"rule {other.rule} does not apply: {failed(outcome.when_trace)}"
    verdict = next((v for v in outcome.verdicts if v.entry_id == other.item_id), None)
    if verdict is None:
        return f"rule {other.rule} did not see this entry"
    return f"rule {other.rule} does not select it: {failed(verdict.trace)}"


def failed(trace: Sequence[ConditionTrace]) -> str:
    """The conditions that kept an entry (or a task) out: those that failed, or held inside a `not`."""
    parts = []
    for item in trace:
        negated = item.path.split(".").count("not") % 2 == 1
        if item.ok == negated:
            field_name = ".".join(item.path.split(".")[-2:])
            shown = f"{field_name} {item.op} {_show(item.expected)}"
            verdict = "holds inside a not" if negated else "is false"
            parts.append(f"{shown} {verdict} (actual {_show(item.actual)})")
    return "; ".join(parts) if parts else "no condition failed"


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    return str(value)
