"""Condition operators: a registry of small pure functions, each declaring the fact types it accepts.

`accepts` and `value` let the loader type-check every condition before any event arrives; the functions
then only ever see typed facts. None (a missing value) is handled once, in `apply`, not in every operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from service.core.facts import FactType
from service.core.regexes import Regex


class ValueKind(Enum):
    """What an operator's value must be, given the type of the fact it tests."""

    SAME = "a value of the field's type"
    LIST = "a list of values of the field's type"
    PAIR = "a list [low, high] of the field's type"
    BOOL = "true or false"
    REGEX = "a regular expression"
    DURATION = "a duration such as 90s, 15m, 2h, 7d, 2w"
    ELEMENT = "a string"


OperatorFn = Callable[[Any, Any, datetime], bool]


@dataclass(frozen=True)
class Operator:
    name: str
    fn: OperatorFn
    accepts: frozenset[FactType]
    value: ValueKind


OPERATORS: dict[str, Operator] = {}

T = FactType
EQUATABLE = {T.INT, T.STR, T.DATETIME, T.BOOL, T.STATUS}
ORDERED = {T.INT, T.DATETIME}
MEMBERS = {T.INT, T.STR, T.STATUS}


def _register(name: str, accepts: set[FactType], value: ValueKind) -> Callable[[OperatorFn], OperatorFn]:
    def register(fn: OperatorFn) -> OperatorFn:
        OPERATORS[name] = Operator(name, fn, frozenset(accepts), value)
        return fn

    return register


@_register("eq", EQUATABLE, ValueKind.SAME)
def eq(actual: Any, expected: Any, now: datetime) -> bool:
    return bool(actual == expected)


@_register("ne", EQUATABLE, ValueKind.SAME)
def ne(actual: Any, expected: Any, now: datetime) -> bool:
    return bool(actual != expected)


@_register("lt", ORDERED, ValueKind.SAME)
def lt(actual: Any, expected: Any, now: datetime) -> bool:
    return bool(actual < expected)


@_register("lte", ORDERED, ValueKind.SAME)
def lte(actual: Any, expected: Any, now: datetime) -> bool:
    return bool(actual <= expected)


@_register("gt", ORDERED, ValueKind.SAME)
def gt(actual: Any, expected: Any, now: datetime) -> bool:
    return bool(actual > expected)


@_register("gte", ORDERED, ValueKind.SAME)
def gte(actual: Any, expected: Any, now: datetime) -> bool:
    return bool(actual >= expected)


@_register("in", MEMBERS, ValueKind.LIST)
def in_(actual: Any, expected: Any, now: datetime) -> bool:
    return actual in expected


@_register("not_in", MEMBERS, ValueKind.LIST)
def not_in(actual: Any, expected: Any, now: datetime) -> bool:
    return actual not in expected


@_register("between", ORDERED, ValueKind.PAIR)
def between(actual: Any, expected: Any, now: datetime) -> bool:
    low, high = expected
    # A bound that is a `$reference` to a missing fact makes the range unknown: no match.
    return low is not None and high is not None and bool(low <= actual <= high)


@_register("contains", {T.STR, T.TAGS}, ValueKind.ELEMENT)
def contains(actual: Any, expected: Any, now: datetime) -> bool:
    # Substring for text, membership for the tag list.
    return expected in actual


@_register("matches", {T.STR}, ValueKind.REGEX)
def matches(actual: Any, expected: Regex, now: datetime) -> bool:
    return expected.search(actual)


@_register("exists", EQUATABLE | {T.TAGS}, ValueKind.BOOL)
def exists(actual: Any, expected: Any, now: datetime) -> bool:
    return (actual is not None) is expected


@_register("before", {T.DATETIME}, ValueKind.SAME)
def before(actual: Any, expected: Any, now: datetime) -> bool:
    return bool(actual < expected)


@_register("after", {T.DATETIME}, ValueKind.SAME)
def after(actual: Any, expected: Any, now: datetime) -> bool:
    return bool(actual > expected)


@_register("older_than", {T.DATETIME}, ValueKind.DURATION)
def older_than(actual: Any, expected: timedelta, now: datetime) -> bool:
    return bool(actual < now - expected)


@_register("newer_than", {T.DATETIME}, ValueKind.DURATION)
def newer_than(actual: Any, expected: timedelta, now: datetime) -> bool:
    return bool(actual > now - expected)


def apply(op: Operator, actual: object, expected: object, now: datetime) -> bool:
    """Run `op`; a missing value on either side fails every comparison except `exists` and `ne`."""
    if op.name == "exists":
        return op.fn(actual, expected, now)
    if actual is None or expected is None:
        return op.name == "ne" and (actual is None) != (expected is None)
    if isinstance(expected, list | tuple) and op.value is ValueKind.LIST:
        expected = tuple(item for item in expected if item is not None)
    return op.fn(actual, expected, now)
