"""Compiling condition mappings and evaluating them: combinators, references, full traces."""

from __future__ import annotations

from datetime import UTC, datetime

from service.core.condition_values import Ref
from service.core.conditions import (
    Condition,
    ConditionTrace,
    Leaf,
    compile_condition,
    evaluate,
    referenced_fields,
)
from service.core.positions import Reporter
from service.core.yamlnodes import parse_yaml

NOW = datetime(2025, 9, 27, 12, tzinfo=UTC)
ALL_SCOPES = frozenset({"event", "task", "entry"})


def compile_text(text: str) -> Condition:
    report = Reporter("t.yaml")
    node = parse_yaml(text, report)
    assert node is not None
    condition = compile_condition(node, "where", ALL_SCOPES, report)
    assert report.problems == [], report.problems
    assert condition is not None
    return condition


def check(text: str, facts: dict[str, object]) -> bool:
    ok, _ = evaluate(compile_text(text), facts, NOW)
    return ok


def test_plain_value_means_equality() -> None:
    assert compile_text("entry.seconds: 0") == Leaf("where.entry.seconds", "entry.seconds", "eq", 0)
    assert check("entry.seconds: 0", {"entry.seconds": 0})
    assert not check("entry.seconds: 0", {"entry.seconds": 5})


def test_status_names_compile_to_codes() -> None:
    assert check("task.status: completed", {"task.status": 5})
    assert check("task.status: {in: [pending, 3]}", {"task.status": 3})
    assert not check("task.status: {in: [pending, 3]}", {"task.status": 5})


def test_several_keys_and_several_operators_are_all() -> None:
    text = "{entry.seconds: {gte: 10, lt: 60}, entry.user_id: 7}"
    assert check(text, {"entry.seconds": 30, "entry.user_id": 7})
    assert not check(text, {"entry.seconds": 60, "entry.user_id": 7})
    assert not check(text, {"entry.seconds": 30, "entry.user_id": 8})


def test_any_all_not_nest() -> None:
    text = "any: [{entry.seconds: 0}, {all: [{entry.user_id: 7}, {not: {entry.comment: {exists: true}}}]}]"
    assert check(text, {"entry.seconds": 0, "entry.user_id": 1, "entry.comment": "x"})
    assert check(text, {"entry.seconds": 9, "entry.user_id": 7, "entry.comment": None})
    assert not check(text, {"entry.seconds": 9, "entry.user_id": 7, "entry.comment": "x"})
    assert not check(text, {"entry.seconds": 9, "entry.user_id": 1, "entry.comment": None})


def test_trace_records_every_condition_even_after_a_failure() -> None:
    condition = compile_text(
        "{entry.seconds: 0, any: [{entry.user_id: 1}, {entry.user_id: 7}], not: {entry.comment: x}}"
    )
    ok, trace = evaluate(condition, {"entry.seconds": 5, "entry.user_id": 7, "entry.comment": "y"}, NOW)
    assert not ok
    assert trace == (
        ConditionTrace("where.entry.seconds", "eq", 0, 5, False),
        ConditionTrace("where.any[0].entry.user_id", "eq", 1, 7, False),
        ConditionTrace("where.any[1].entry.user_id", "eq", 7, 7, True),
        ConditionTrace("where.not.entry.comment", "eq", "x", "y", False),
    )


def test_reference_reads_another_fact_and_is_traced_resolved() -> None:
    condition = compile_text("entry.created_date: {before: $task.reopened_at}")
    reopened_at = datetime(2025, 9, 27, 9, tzinfo=UTC)
    facts = {"entry.created_date": datetime(2025, 9, 26, tzinfo=UTC), "task.reopened_at": reopened_at}
    ok, trace = evaluate(condition, facts, NOW)
    assert ok
    assert trace[0].expected == reopened_at
    assert referenced_fields(condition) == {"entry.created_date", "task.reopened_at"}


def test_reference_to_a_missing_fact_never_matches() -> None:
    assert not check(
        "entry.created_date: {before: $task.reopened_at}",
        {"entry.created_date": NOW, "task.reopened_at": None},
    )
    assert not check("entry.created_date: {after: $task.closed_date}", {"entry.created_date": NOW})


def test_references_in_lists_and_between() -> None:
    condition = compile_text("entry.user_id: {in: [$task.responsible_id, 1]}")
    assert isinstance(condition, Leaf)
    assert condition.expected == (Ref("task.responsible_id"), 1)
    assert check(
        "entry.user_id: {in: [$task.responsible_id, 1]}", {"entry.user_id": 9, "task.responsible_id": 9}
    )
    text = "entry.created_date: {between: [$task.status_changed_date, $task.closed_date]}"
    facts: dict[str, object] = {
        "entry.created_date": datetime(2025, 9, 2, tzinfo=UTC),
        "task.status_changed_date": datetime(2025, 9, 1, tzinfo=UTC),
        "task.closed_date": datetime(2025, 9, 3, tzinfo=UTC),
    }
    assert check(text, facts)
    assert referenced_fields(compile_text(text)) == {
        "entry.created_date",
        "task.status_changed_date",
        "task.closed_date",
    }


def test_double_dollar_is_a_literal() -> None:
    assert check("entry.comment: $$100 fee", {"entry.comment": "$100 fee"})
    assert check("entry.comment: {contains: $$}", {"entry.comment": "a $ b"})


def test_regex_and_duration_values() -> None:
    assert check(r"entry.comment: {matches: '^\[auto\]'}", {"entry.comment": "[auto] timer"})
    assert not check(r"entry.comment: {matches: '^\[auto\]'}", {"entry.comment": "manual"})
    old = datetime(2025, 9, 1, tzinfo=UTC)
    assert check("entry.created_date: {older_than: 7d}", {"entry.created_date": old})
    assert not check("entry.created_date: {newer_than: 2w}", {"entry.created_date": old})
    _, trace = evaluate(compile_text("entry.comment: {matches: 'a+'}"), {"entry.comment": "aa"}, NOW)
    assert trace[0].expected == "a+"  # the trace shows the pattern text, not a compiled object


def test_dates_in_rules_compare_across_offsets() -> None:
    text = "entry.created_date: {after: '2025-09-26T12:00:00+03:00'}"
    assert check(text, {"entry.created_date": datetime(2025, 9, 26, 9, 30, tzinfo=UTC)})
    assert not check(text, {"entry.created_date": datetime(2025, 9, 26, 9, 0, tzinfo=UTC)})
    assert check(
        "entry.created_date: {before: 2025-09-02}",
        {"entry.created_date": datetime(2025, 9, 1, 23, tzinfo=UTC)},
    )


def test_tags_contains() -> None:
    assert check("task.tags: {contains: urgent}", {"task.tags": ("bug", "urgent")})
    assert not check("task.tags: {contains: urgent}", {"task.tags": ()})
    assert not check("task.tags: {contains: urgent}", {"task.tags": None})
