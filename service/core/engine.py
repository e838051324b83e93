"""The engine: evaluate a rule set against one task and its time entries, and return a plan.

Plan, then execute: nothing here deletes anything. The plan says, for every rule listening to the
event, whether it applied, why each entry was or was not selected (every condition's trace), and which
entries to delete in which mode. Dry-run, shadow mode, `simulate` and inline tests all read the plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from service.core.compiled import Columns, decided, select
from service.core.conditions import ConditionTrace
from service.core.conditions import evaluate as evaluate_condition
from service.core.facts import EntryColumns, EventInput, entry_facts, entry_facts_of, event_facts, task_facts
from service.core.rules import Rule, RuleSet
from service.core.transitions import Transition

__all__ = [
    "ConditionTrace",
    "Deletion",
    "EntryVerdict",
    "EventInput",
    "Plan",
    "RuleOutcome",
    "dedupe",
    "evaluate",
]


@dataclass(frozen=True)
class EntryVerdict:
    entry_id: int
    selected: bool
    trace: tuple[ConditionTrace, ...]


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    applies: bool
    when_trace: tuple[ConditionTrace, ...]
    verdicts: tuple[EntryVerdict, ...]
    over_limit: bool  # it selected more entries than its `limit`: it deletes none of them and trips
    mode: str  # the rule's mode: "enforce" | "shadow"


@dataclass(frozen=True)
class Deletion:
    task_id: int
    item_id: int
    rule: str
    mode: str  # the rule's mode: "enforce" | "shadow"
    over_limit: bool  # the rule selected more than its limit on this task: held back, the rule trips
    entry: Mapping[str, object]  # the raw entry as read: the audit snapshot used to restore it
    trace: tuple[ConditionTrace, ...]
    reason: str  # one line, e.g. "entry.seconds eq 0 (actual 0)"

    @property
    def enforced(self) -> bool:
        """Meant for real by the rule itself (mode enforce, within its limit); the brakes may still hold
        it back (`core/policy.py`)."""
        return self.mode == "enforce" and not self.over_limit


@dataclass(frozen=True)
class Plan:
    task_id: int
    event: str
    ruleset_version: str
    outcomes: tuple[RuleOutcome, ...]
    deletions: tuple[Deletion, ...]

    def to_delete(self) -> tuple[Deletion, ...]:
        """The deletions to perform for real (mode enforce, rule within its limit)."""
        return tuple(d for d in self.deletions if d.enforced)


def evaluate(
    ruleset: RuleSet,
    *,
    event: EventInput,
    task: Mapping[str, object],
    entries: Sequence[Mapping[str, object]],
    transition: Transition,
    now: datetime,
    trace: bool = True,
) -> Plan:
    """Evaluate every enabled rule listening to `event.name`; pure, `now` is the evaluation's clock.

    With `trace` (simulate, explain), every outcome carries every entry's verdict and every condition's
    trace. Without it (the worker) the rules run compiled: an outcome lists only the entries it
    selected, `when_trace` is empty, and only the deletions kept in the plan are traced (the audit
    records why each entry was deleted). The deletions are the same either way."""
    if now.tzinfo is None:
        # Portal dates are aware; a naive clock would make every date comparison raise mid-evaluation.
        raise ValueError("now must be timezone-aware")
    base = {**event_facts(event), **task_facts(task), **transition.facts()}
    task_id = base["task.id"] if isinstance(base["task.id"], int) else 0
    rules = ruleset.for_event(event.name)
    if not trace:
        return _compiled_plan(ruleset, rules, event, base, task_id, entries, now)
    own_entries = _own_entries(task_id, entries)
    raw_by_id = {entry_id: raw for entry_id, raw, _ in own_entries}
    outcomes = [_evaluate_rule(rule, base, own_entries, now) for rule in rules]
    candidates = _candidates(task_id, rules, outcomes, raw_by_id)
    return Plan(task_id, event.name.upper(), ruleset.version, tuple(outcomes), dedupe(candidates))


def _compiled_plan(
    ruleset: RuleSet,
    rules: Sequence[Rule],
    event: EventInput,
    base: dict[str, object],
    task_id: int,
    entries: Sequence[Mapping[str, object]],
    now: datetime,
) -> Plan:
    """`evaluate` without `trace`: compiled rules over the entries' columns; only deletions traced."""
    every = EntryColumns(entries)
    pairs = enumerate(zip(every["entry.id"], every["entry.task_id"], strict=True))
    keep = [i for i, (entry_id, owner) in pairs if isinstance(entry_id, int) and task_id and owner == task_id]
    own = [entries[i] for i in keep]
    own_ids = [cast(int, every["entry.id"][i]) for i in keep]
    columns = EntryColumns(own)
    outcomes = [_select(rule, base, columns, own_ids, now) for rule in rules]
    candidates = _candidates(task_id, rules, outcomes, dict(zip(own_ids, own, strict=True)))
    by_name = {rule.name: rule for rule in rules}
    deletions = tuple(_traced(d, by_name[d.rule], base, now) for d in dedupe(candidates))
    return Plan(task_id, event.name.upper(), ruleset.version, tuple(outcomes), deletions)


def _candidates(
    task_id: int,
    rules: Sequence[Rule],
    outcomes: Sequence[RuleOutcome],
    raw_by_id: Mapping[int, Mapping[str, object]],
) -> list[Deletion]:
    pairs = zip(rules, outcomes, strict=True)
    return [deletion for rule, outcome in pairs for deletion in _deletions(task_id, rule, outcome, raw_by_id)]


_EntryFacts = tuple[int, Mapping[str, object], dict[str, object]]


def _own_entries(task_id: int, entries: Sequence[Mapping[str, object]]) -> list[_EntryFacts]:
    """Entries of this task only, with their facts. task.elapseditem.delete does not check that an
    item belongs to the task it is called with, so an entry of another task must never be selected."""
    own = []
    for raw in entries:
        facts = entry_facts(raw)
        entry_id = facts["entry.id"]
        if isinstance(entry_id, int) and task_id and facts["entry.task_id"] == task_id:
            own.append((entry_id, raw, facts))
    return own


def _evaluate_rule(
    rule: Rule, base: dict[str, object], entries: list[_EntryFacts], now: datetime
) -> RuleOutcome:
    applies, when_trace = (True, ()) if rule.when is None else evaluate_condition(rule.when, base, now)
    verdicts = []
    if applies and rule.where is not None:
        for entry_id, _, facts in entries:
            selected, trace = evaluate_condition(rule.where, {**base, **facts}, now)
            verdicts.append(EntryVerdict(entry_id, selected, trace))
    return _outcome(rule, applies, when_trace, verdicts)


def _select(
    rule: Rule, base: dict[str, object], columns: Columns, ids: list[int], now: datetime
) -> RuleOutcome:
    """`_evaluate_rule` compiled and untraced: the verdicts of the selected entries only."""
    applies = True if rule.when_test is None else decided(rule.when_test(base, now, columns))
    chosen = []
    if applies and rule.where_test is not None:
        chosen = select(rule.where_test(base, now, columns), len(ids))
    return _outcome(rule, applies, (), [EntryVerdict(ids[i], True, ()) for i in chosen])


def _outcome(
    rule: Rule, applies: bool, when_trace: tuple[ConditionTrace, ...], verdicts: list[EntryVerdict]
) -> RuleOutcome:
    count = sum(verdict.selected for verdict in verdicts)
    over_limit = rule.limit is not None and count > rule.limit
    return RuleOutcome(rule.name, applies, when_trace, tuple(verdicts), over_limit, rule.mode)


def _traced(deletion: Deletion, rule: Rule, base: dict[str, object], now: datetime) -> Deletion:
    """The untraced path's deletion with the trace and reason the traced path gives it."""
    if rule.where is None:
        return deletion
    facts = entry_facts_of(deletion.entry, rule.entry_fields)
    _, trace = evaluate_condition(rule.where, {**base, **facts}, now)
    return replace(deletion, trace=trace, reason=reason(trace))


def _deletions(
    task_id: int, rule: Rule, outcome: RuleOutcome, raw_by_id: Mapping[int, Mapping[str, object]]
) -> list[Deletion]:
    return [
        Deletion(
            task_id,
            v.entry_id,
            rule.name,
            outcome.mode,
            outcome.over_limit,
            raw_by_id[v.entry_id],
            v.trace,
            reason(v.trace),
        )
        for v in outcome.verdicts
        if v.selected
    ]


def dedupe(candidates: Sequence[Deletion]) -> tuple[Deletion, ...]:
    """One deletion per entry, in the order entries first appear: an enforcing rule wins over a shadow
    one, a rule over its limit loses to both, then the earlier candidate (file order) wins."""
    best: dict[int, Deletion] = {}
    for deletion in candidates:
        current = best.get(deletion.item_id)
        if current is None or _strength(deletion) < _strength(current):
            best[deletion.item_id] = deletion
    order: dict[int, int] = {}
    for index, deletion in enumerate(candidates):
        order.setdefault(deletion.item_id, index)
    return tuple(sorted(best.values(), key=lambda deletion: order[deletion.item_id]))


def _strength(deletion: Deletion) -> tuple[bool, bool]:
    """Lower is stronger: within the limit before over it, then enforce before shadow."""
    return deletion.over_limit, deletion.mode != "enforce"


def reason(trace: tuple[ConditionTrace, ...]) -> str:
    """One line naming the conditions that selected the entry (those inside a `not` held by failing)."""
    parts = []
    for item in trace:
        negated = item.path.split(".").count("not") % 2 == 1
        if item.ok != negated:
            field = ".".join(item.path.split(".")[-2:])
            shown = f"{field} {item.op} {_show(item.expected)} (actual {_show(item.actual)})"
            parts.append(f"not {shown}" if negated else shown)
    return "; ".join(parts) if parts else "selected"


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    return str(value)
