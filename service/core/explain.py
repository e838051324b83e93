"""Human-readable explanations of an evaluation: what `simulate` prints (pure text rendering)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from service.core.conditions import ConditionTrace
from service.core.engine import Plan, RuleOutcome
from service.core.transitions import Transition

STATUS_NAMES = {2: "pending", 3: "in_progress", 4: "awaiting_review", 5: "completed", 6: "deferred"}


def explain(
    plans: Sequence[Plan],
    *,
    task: Mapping[str, object],
    entries: Sequence[Mapping[str, object]],
    transition: Transition,
) -> str:
    lines = [_task_line(task, transition)]
    by_id = {str(e.get("ID")): e for e in entries}
    if not plans:
        lines.append("no enabled rule listens to this event: nothing would be deleted")
    for plan in plans:
        lines.append(f"event {plan.event}, rule set {plan.ruleset_version}, {len(entries)} entries")
        if not plan.outcomes:
            lines.append("  no enabled rule listens to this event")
        for outcome in plan.outcomes:
            lines.extend(_rule_lines(outcome, by_id))
        lines.append(_summary(plan))
    return "\n".join(lines)


def _task_line(task: Mapping[str, object], transition: Transition) -> str:
    status = _status(task.get("status"))
    line = f"task {task.get('id')} {str(task.get('title', ''))!r}: status {status}"
    if transition.previous_status is not None:
        line += f", previously {STATUS_NAMES.get(transition.previous_status, transition.previous_status)}"
    if transition.reopened:
        line += f", reopened at {_show(transition.reopened_at)}"
    return line


def _status(raw: object) -> str:
    try:
        return STATUS_NAMES.get(int(str(raw)), str(raw))
    except ValueError:
        return str(raw)


def _rule_lines(outcome: RuleOutcome, entries: Mapping[str, Mapping[str, object]]) -> list[str]:
    state = "applies" if outcome.applies else "does not apply"
    if outcome.over_limit:
        state += " (over its limit: nothing would be deleted, the rule would trip)"
    lines = [f"rule {outcome.rule} [{outcome.mode}]: {state}"]
    if outcome.when_trace:
        lines.append("  when:")
        lines.extend(_trace_lines(outcome.when_trace, "    "))
    if not outcome.applies:
        return lines
    for verdict in outcome.verdicts:
        entry = entries.get(str(verdict.entry_id), {})
        verdict_text = "DELETE" if verdict.selected else "keep"
        lines.append(f"  entry {verdict.entry_id} ({_entry_summary(entry)}): {verdict_text}")
        lines.extend(_trace_lines(verdict.trace, "    "))
    return lines


def _trace_lines(trace: Sequence[ConditionTrace], indent: str) -> list[str]:
    return [
        f"{indent}{'ok  ' if t.ok else 'FAIL'} {t.path} {t.op} {_show(t.expected)} (actual {_show(t.actual)})"
        for t in trace
    ]


def _entry_summary(entry: Mapping[str, object]) -> str:
    comment = str(entry.get("COMMENT_TEXT") or "")
    comment = comment if len(comment) <= 40 else comment[:37] + "..."
    return f"{entry.get('SECONDS')} s by user {entry.get('USER_ID')}, created {entry.get('CREATED_DATE')}" + (
        f", {comment!r}" if comment else ""
    )


def _summary(plan: Plan) -> str:
    if not plan.deletions:
        return "summary: nothing would be deleted"
    parts = [f"{d.item_id} ({d.rule}, {d.mode})" for d in plan.deletions]
    return f"summary: {len(plan.deletions)} selected: " + ", ".join(parts)


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None:
        return "none"
    return repr(value) if isinstance(value, str) else str(value)
