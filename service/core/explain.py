"""Human-readable explanations of an evaluation: what `simulate` prints (pure text rendering).

Written for the question "why did (or didn't) this rule delete that entry?": every rule listening to
the event, whether it applies and why, every entry with its verdict in words ("would delete", "keep"),
and each condition with the value it was compared against, the `$field` that value came from and the
actual value. Values are shown as they are written in rule files (`true`, `completed`, dates in ISO).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from service.core import policy
from service.core.conditions import ConditionTrace
from service.core.engine import Deletion, Plan, RuleOutcome
from service.core.facts import STATUS_NAMES as FACT_STATUS_NAMES
from service.core.transitions import Transition

# status number → name, the inverse of the names rules may use
STATUS_NAMES = {number: name for name, number in FACT_STATUS_NAMES.items()}
_STATUS_PATHS = ("task.status", "task.previous_status")

# What a selected entry's fate is, by the mode its rule runs in (when the rule is within its limit).
_VERDICTS = {
    "enforce": "WOULD DELETE",
    "shadow": "would be recorded only (rule is in shadow mode)",  # the brakes' own words (policy)
}
_HELD_BACK = "selected, but the rule is over its limit: not deleted"


def explain(
    plans: Sequence[Plan],
    *,
    task: Mapping[str, object],
    entries: Sequence[Mapping[str, object]],
    transition: Transition,
    basis: str = "",
    notes: Sequence[str] = (),
    descriptions: Mapping[str, str] | None = None,
    fates: Mapping[tuple[str, int], str] | None = None,
) -> str:
    """The report; `basis` says where the previous status came from, `notes` are shown first, and each
    rule's `description` (what its author meant it to do) is shown under its name. `fates` ((rule, entry
    id) → words, from `fates_of` a policy decision) replaces a selected entry's verdict by what the
    worker would really do: skip an entry an operator restored, hold back under the echo guard, …"""
    lines = [_task_line(task, transition, basis), *notes]
    by_id = {str(e.get("ID")): e for e in entries}
    if not plans:
        lines.append("no enabled rule listens to this event: nothing would be deleted")
    for plan in plans:
        lines += ["", f"event {plan.event}, rule set {plan.ruleset_version}, {len(entries)} time entries"]
        if not plan.outcomes:
            lines.append("  no enabled rule listens to this event")
        for outcome in plan.outcomes:
            described = (descriptions or {}).get(outcome.rule, "")
            lines.extend(_rule_lines(outcome, by_id, described, fates or {}))
        lines += ["", *(_fated_summary(plan, fates) if fates else _summary(plan))]
    return "\n".join(lines)


def _task_line(task: Mapping[str, object], transition: Transition, basis: str) -> str:
    title = str(task.get("title") or "")
    line = f"task {task.get('id')}" + (f" {title!r}" if title else "") + f": {_status(task.get('status'))}"
    if transition.previous_status is not None:
        line += f", previously {STATUS_NAMES.get(transition.previous_status, transition.previous_status)}"
    elif basis:
        line += ", previous status unknown"
    if basis:
        line += f" ({basis})"
    if transition.reopened:
        line += f"; reopened at {_show(transition.reopened_at)}"
    return line


def _status(raw: object) -> str:
    try:
        return STATUS_NAMES.get(int(str(raw)), str(raw))
    except ValueError:
        return str(raw)


def _rule_lines(
    outcome: RuleOutcome,
    entries: Mapping[str, Mapping[str, object]],
    description: str = "",
    fates: Mapping[tuple[str, int], str] | None = None,
) -> list[str]:
    if not outcome.applies:
        state = "does not apply (its `when` does not hold)"
    else:
        selected = sum(v.selected for v in outcome.verdicts)
        state = f"applies; selects {selected} of {len(outcome.verdicts)} entries"
        if outcome.over_limit:
            state += ", more than its limit: it would delete nothing and trip to shadow"
    lines = ["", f"rule {outcome.rule} [{outcome.mode}]: {state}"]
    if description:
        lines.append(f"  ({' '.join(description.split())})")
    if outcome.when_trace:
        lines.append("  when:")
        lines.extend(_trace_lines(outcome.when_trace, "    "))
    if not outcome.applies:
        return lines
    selected_fate = _HELD_BACK if outcome.over_limit else _VERDICTS[outcome.mode]
    for verdict in outcome.verdicts:
        entry = entries.get(str(verdict.entry_id), {})
        fate = (
            (fates or {}).get((outcome.rule, verdict.entry_id), selected_fate) if verdict.selected else "keep"
        )
        lines.append(f"  entry {verdict.entry_id} ({_entry_summary(entry)}): {fate}")
        lines.extend(_trace_lines(verdict.trace, "    "))
    return lines


def _trace_lines(trace: Sequence[ConditionTrace], indent: str) -> list[str]:
    return [f"{indent}{'ok  ' if t.ok else 'FAIL'}  {_condition(t)}" for t in trace]


def _condition(trace: ConditionTrace) -> str:
    field = trace.path.split(".", 1)[1] if trace.path.startswith(("when.", "where.")) else trace.path
    statuses = field.endswith(_STATUS_PATHS)
    expected = _show(trace.expected, statuses)
    if trace.ref:
        expected = f"${trace.ref} = {expected}"
    return f"{field} {trace.op} {expected}   (actual: {_show(trace.actual, statuses)})"


def _entry_summary(entry: Mapping[str, object]) -> str:
    comment = str(entry.get("COMMENT_TEXT") or "")
    comment = comment if len(comment) <= 40 else comment[:37] + "..."
    text = f"{entry.get('SECONDS')} s by user {entry.get('USER_ID')}, created {entry.get('CREATED_DATE')}"
    return text + (f", {comment!r}" if comment else "")


def _summary(plan: Plan) -> list[str]:
    if not plan.deletions:
        return ["summary: nothing would be deleted"]
    lines = ["summary:"]
    for mode, verdict in (("enforce", "would delete"), ("shadow", _VERDICTS["shadow"])):
        chosen = [d for d in plan.deletions if d.mode == mode and not d.over_limit]
        if chosen:
            lines.append(f"  {verdict} {len(chosen)}: {_ids_by_rule(chosen)}")
    held = [d for d in plan.deletions if d.over_limit]
    if held:
        lines.append(f"  held back (rule over its limit) {len(held)}: {_ids_by_rule(held)}")
    return lines


def _ids_by_rule(deletions: Sequence[Deletion]) -> str:
    rules: dict[str, list[str]] = {}
    for deletion in deletions:
        rules.setdefault(deletion.rule, []).append(str(deletion.item_id))
    return "; ".join(
        f"{'entry' if len(ids) == 1 else 'entries'} {', '.join(ids)} by {rule}" for rule, ids in rules.items()
    )


def _show(value: object, statuses: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if statuses and isinstance(value, int):
        return STATUS_NAMES.get(value, str(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset | set):
        return "[" + ", ".join(_show(item, statuses) for item in value) + "]"
    if value is None:
        return "none"
    return repr(value) if isinstance(value, str) else str(value)


# The words for what the brakes (core/policy.py) decide about a selected entry.
_ACTIONS = {
    policy.SEND: "WOULD DELETE",
    policy.SKIPPED: "would be skipped: {note}",
    policy.SHADOW: "would be recorded only ({note})",
    policy.DRY_RUN: "would be recorded only ({note})",
    policy.TRIPPED: "not deleted: {note}",
}


def fates_of(decision: policy.Decision) -> dict[tuple[str, int], str]:
    """(rule, entry id) → what the worker would do with it, in words, from the brakes' decision."""
    return {
        (a.deletion.rule, a.deletion.item_id): _ACTIONS[a.outcome].format(note=a.note)
        for a in decision.actions
    }


def _fated_summary(plan: Plan, fates: Mapping[tuple[str, int], str]) -> list[str]:
    if not plan.deletions:
        return ["summary: nothing would be deleted"]
    groups: dict[str, list[Deletion]] = {}
    for deletion in plan.deletions:
        fate = fates.get((deletion.rule, deletion.item_id), "selected")
        groups.setdefault(fate, []).append(deletion)
    lines = ["summary:"]
    for fate, chosen in groups.items():
        label = "would delete" if fate == _ACTIONS[policy.SEND] else fate
        lines.append(f"  {label} {len(chosen)}: {_ids_by_rule(chosen)}")
    return lines
