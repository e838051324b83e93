"""Each operator's true and false case, and the None rules applied by `apply`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.core.facts import FactType
from service.core.operators import OPERATORS, ValueKind, apply
from service.core.regexes import compile_regex

NOW = datetime(2025, 9, 27, 12, 0, tzinfo=UTC)
EARLY = datetime(2025, 9, 1, tzinfo=UTC)
LATE = datetime(2025, 9, 20, tzinfo=UTC)


def run(op: str, actual: object, expected: object) -> bool:
    return apply(OPERATORS[op], actual, expected, NOW)


CASES = [
    ("eq", 0, 0, True), ("eq", 1, 0, False), ("eq", "a", "a", True),
    ("ne", 1, 0, True), ("ne", 0, 0, False),
    ("lt", 1, 2, True), ("lt", 2, 2, False), ("lte", 2, 2, True), ("lte", 3, 2, False),
    ("gt", 3, 2, True), ("gt", 2, 2, False), ("gte", 2, 2, True), ("gte", 1, 2, False),
    ("in", 2, (1, 2), True), ("in", 3, (1, 2), False),
    ("not_in", 3, (1, 2), True), ("not_in", 2, (1, 2), False),
    ("between", 2, (1, 2), True), ("between", 1, (1, 2), True), ("between", 3, (1, 2), False),
    ("between", LATE, (EARLY, NOW), True), ("between", NOW, (EARLY, LATE), False),
    ("contains", "meeting notes", "notes", True), ("contains", "meeting", "notes", False),
    ("contains", ("urgent", "bug"), "bug", True), ("contains", ("urgent",), "bug", False),
    ("matches", "JIRA-123 fix", compile_regex(r"^[A-Z]+-\d+"), True),
    ("matches", "fix", compile_regex(r"\d"), False),
    ("exists", 0, True, True), ("exists", 0, False, False),
    ("before", EARLY, LATE, True), ("before", LATE, EARLY, False), ("before", LATE, LATE, False),
    ("after", LATE, EARLY, True), ("after", EARLY, LATE, False),
    ("older_than", EARLY, timedelta(days=7), True), ("older_than", LATE, timedelta(days=30), False),
    ("newer_than", LATE, timedelta(days=30), True), ("newer_than", EARLY, timedelta(days=7), False),
]  # fmt: skip


@pytest.mark.parametrize(("op", "actual", "expected", "result"), CASES)
def test_operator(op: str, actual: object, expected: object, result: bool) -> None:
    assert run(op, actual, expected) is result


def test_every_registered_operator_has_cases() -> None:
    assert {case[0] for case in CASES} == set(OPERATORS)
    assert set(OPERATORS) == {
        "eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "between", "contains", "matches", "exists",
        "before", "after", "older_than", "newer_than",
    }  # fmt: skip


@pytest.mark.parametrize("op", sorted(set(OPERATORS) - {"exists", "ne"}))
def test_missing_actual_never_matches(op: str) -> None:
    expected = {ValueKind.LIST: (1,), ValueKind.PAIR: (1, 2), ValueKind.REGEX: compile_regex("x")}.get(
        OPERATORS[op].value, 1
    )
    assert run(op, None, expected) is False


def test_missing_values_and_ne_exists() -> None:
    assert run("ne", None, 5) is True
    assert run("ne", 5, None) is True
    assert run("ne", None, None) is False
    assert run("eq", None, None) is False
    assert run("eq", 5, None) is False
    assert run("lt", 1, None) is False
    assert run("exists", None, False) is True
    assert run("exists", None, True) is False


def test_unresolved_bounds_and_members() -> None:
    assert run("between", 2, (None, 5)) is False
    assert run("between", 2, (1, None)) is False
    assert run("in", 2, (None, 2)) is True
    assert run("not_in", 3, (None, 2)) is True


def test_declared_types_keep_nonsense_out() -> None:
    assert FactType.BOOL not in OPERATORS["lt"].accepts
    assert FactType.STATUS not in OPERATORS["gt"].accepts
    assert OPERATORS["matches"].accepts == {FactType.STR}
    assert OPERATORS["contains"].accepts == {FactType.STR, FactType.TAGS}
    assert OPERATORS["older_than"].value is ValueKind.DURATION
    assert FactType.TAGS not in OPERATORS["eq"].accepts
