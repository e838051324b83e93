"""`b24rules diff` output: a report for people, one JSON document for scripts (pure rendering)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.core.rulediff import Change
from service.operations.diff import DiffReport


def render_text(report: DiffReport) -> str:
    diff = report.diff
    read = "read from the portal" if report.source == "portal" else "as kept in the audit (no portal call)"
    lines = [
        f"rule set {report.running} (running) -> {report.proposed} (proposed): "
        f"{report.tasks_read} task(s), {report.entries} time entries {read}"
    ]
    for rule in diff.rules:
        lines.append(
            f"rule {rule.rule}: {len(rule.newly_deleted)} newly deleted, "
            f"{len(rule.no_longer_deleted)} no longer deleted, {rule.unchanged} unchanged"
        )
        for sign, changes in (("+", rule.newly_deleted), ("-", rule.no_longer_deleted)):
            for change in changes:
                lines.append(
                    f"  {sign} task {change.task_id} entry {change.item_id} ({_entry(change.entry)})"
                )
                lines.append(f"      proposed: {change.now}")
                lines.append(f"      running:  {change.before}")
    if not diff.rules:
        lines.append("no rule deletes any of these entries, with either set")
    lines.append(
        f"total: {diff.newly_deleted} newly deleted, {diff.no_longer_deleted} no longer deleted"
        + ("" if diff.changes() else " (no entry's fate changes)")
    )
    return "\n".join(lines)


def to_json(report: DiffReport) -> dict[str, Any]:
    diff = report.diff
    return {
        "running": report.running,
        "proposed": report.proposed,
        "source": report.source,
        "tasks": report.tasks_read,
        "entries": report.entries,
        "newly_deleted": diff.newly_deleted,
        "no_longer_deleted": diff.no_longer_deleted,
        "rules": [
            {
                "rule": rule.rule,
                "newly_deleted": [_change(c) for c in rule.newly_deleted],
                "no_longer_deleted": [_change(c) for c in rule.no_longer_deleted],
                "unchanged": rule.unchanged,
            }
            for rule in diff.rules
        ],
    }


def _change(change: Change) -> dict[str, Any]:
    return {
        "task_id": change.task_id,
        "item_id": change.item_id,
        "entry": dict(change.entry),
        "proposed": change.now,
        "running": change.before,
    }


def _entry(entry: Mapping[str, object]) -> str:
    return f"{entry.get('SECONDS')} s by user {entry.get('USER_ID')}, created {entry.get('CREATED_DATE')}"
