"""The fast path of evaluation: a condition tree compiled once, when its rule is loaded, into closures.

`conditions.evaluate` walks the tree with one merged facts mapping per entry and records every leaf
(the trace `simulate` and the audit show). Deciding which entries a rule selects needs none of that, and
it runs for every rule and entry of every task. So a condition is compiled once (operators and literal
values bound) and then, per task, *bound* to the task's facts and the clock: every leaf that reads only
event/task facts is decided there once, `$references` to them are resolved, and `older_than`-style
cut-offs are computed. What is left is a filter over the task's entries, held column by column (one
list per entry fact): a leaf is one list comprehension over the candidates, `all` narrows them child by
child, `any` and `not` combine the children's picks — no Python call per entry and leaf.

Same answers as `conditions.evaluate` (a property test compares them on random rules and entries):
missing values follow `operators.apply`, and a child skipped because the candidates ran out cannot
change the answer, since every condition is pure.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from service.core.condition_values import Ref
from service.core.conditions import Condition, Leaf
from service.core.operators import OPERATORS, Operator, ValueKind, apply

Facts = Mapping[str, object]
Columns = Mapping[str, Sequence[Any]]  # entry fact → its value for each entry, by entry position
EntryFilter = Callable[[list[int]], list[int]]  # candidate positions → those the condition holds for
# A condition bound to one task: decided (a bool), or a filter of the task's entries.
Bound = bool | EntryFilter
Binder = Callable[[Facts, datetime, Columns], Bound]

ENTRY_SCOPE = "entry."


def compile_test(condition: Condition) -> Binder:
    """Compile `condition`; the result binds it to a task's (event, task, transition) facts, `now`, and
    the task's entries as columns."""
    if isinstance(condition, Leaf):
        return _compile_leaf(condition)
    children = tuple(compile_test(child) for child in condition.children)
    if condition.kind == "not":
        return _negate(children[0])
    return _combine(children, stop_at=condition.kind == "any")


def decided(bound: Bound) -> bool:
    """A bound `when`: it reads no entry fact (the loader's scopes forbid it), so it is decided."""
    if not isinstance(bound, bool):
        raise TypeError("a condition without entry facts bound to an entry filter")
    return bound


def select(bound: Bound, count: int) -> list[int]:
    """The positions, among `count` entries, that a bound condition selects."""
    if isinstance(bound, bool):
        return list(range(count)) if bound else []
    return bound(list(range(count)))


def _negate(child: Binder) -> Binder:
    def bind(task: Facts, now: datetime, columns: Columns) -> Bound:
        inner = child(task, now, columns)
        if isinstance(inner, bool):
            return not inner

        def without(candidates: list[int]) -> list[int]:
            held = set(inner(candidates))
            return [i for i in candidates if i not in held]

        return without

    return bind


def _combine(children: tuple[Binder, ...], *, stop_at: bool) -> Binder:
    """`all` (stop_at False: one failing child decides) or `any` (stop_at True: one holding child)."""

    def bind(task: Facts, now: datetime, columns: Columns) -> Bound:
        filters: list[EntryFilter] = []
        for child in children:
            bound = child(task, now, columns)
            if bound is stop_at:
                return stop_at
            if not isinstance(bound, bool):
                filters.append(bound)
        if not filters:
            return not stop_at
        if len(filters) == 1:
            return filters[0]
        return _any_of(tuple(filters)) if stop_at else _all_of(tuple(filters))

    return bind


def _all_of(filters: tuple[EntryFilter, ...]) -> EntryFilter:
    def narrow(candidates: list[int]) -> list[int]:
        for keep in filters:
            if not candidates:
                break
            candidates = keep(candidates)
        return candidates

    return narrow


def _any_of(filters: tuple[EntryFilter, ...]) -> EntryFilter:
    def widen(candidates: list[int]) -> list[int]:
        held: set[int] = set()
        rest = candidates
        for pick in filters:
            if not rest:
                break
            picked = set(pick(rest))
            held |= picked
            rest = [i for i in rest if i not in picked]
        return [i for i in candidates if i in held]

    return widen


def _compile_leaf(leaf: Leaf) -> Binder:
    op = OPERATORS[leaf.op]
    dynamic = _refers_to_entry(leaf.expected)
    reads_entry = leaf.field.startswith(ENTRY_SCOPE) or dynamic

    def bind(task: Facts, now: datetime, columns: Columns) -> Bound:
        if not reads_entry:
            return apply(op, task.get(leaf.field), _resolve(leaf.expected, task.get), now)
        if dynamic:
            return _dynamic_leaf(op, leaf, task, now, columns)
        return _entry_leaf(op, columns[leaf.field], _resolve(leaf.expected, task.get), now)

    return bind


def _entry_leaf(op: Operator, column: Sequence[Any], expected: Any, now: datetime) -> EntryFilter:
    """A leaf on an entry fact against a value known for the whole task (the common case)."""
    if op.name == "exists":
        return lambda candidates: [i for i in candidates if (column[i] is not None) is expected]
    if expected is None:  # a `$reference` to a missing task fact: `ne` holds for a present value
        present = op.name == "ne"
        return lambda candidates: [i for i in candidates if present and column[i] is not None]
    if isinstance(expected, tuple) and op.value is ValueKind.LIST:
        return _membership(op, column, frozenset(item for item in expected if item is not None))
    if op.name == "between":
        return _between(column, expected)
    if op.name == "eq":  # the commonest leaf, inlined (a missing value equals no literal)
        return lambda candidates: [i for i in candidates if column[i] == expected]
    if op.name == "matches":
        search = expected.search  # a Regex (core/regexes.py): True when found
        return lambda candidates: [i for i in candidates if (v := column[i]) is not None and search(v)]
    test, value = _binary(op, expected, now)
    if op.name == "ne":  # a missing value differs from any present one (operators.apply)
        return lambda candidates: [i for i in candidates if (v := column[i]) is None or test(v, value)]
    return lambda candidates: [i for i in candidates if (v := column[i]) is not None and test(v, value)]


def _membership(op: Operator, column: Sequence[Any], members: frozenset[Any]) -> EntryFilter:
    """`in` / `not_in` (facts of these types are hashable); a missing value is in neither."""
    if op.name == "in":
        return lambda candidates: [i for i in candidates if column[i] in members]
    return lambda candidates: [i for i in candidates if (v := column[i]) is not None and v not in members]


def _between(column: Sequence[Any], bounds: tuple[Any, Any]) -> EntryFilter:
    low, high = bounds
    if low is None or high is None:  # a bound referring to a missing fact: the range is unknown
        return lambda candidates: []
    return lambda candidates: [i for i in candidates if (v := column[i]) is not None and low <= v <= high]


def _binary(op: Operator, expected: Any, now: datetime) -> tuple[Callable[[Any, Any], Any], Any]:
    """A two-argument function and its second argument, equivalent to `op.fn(actual, expected, now)`.

    Built-in comparisons where they exist (no Python frame per entry); `older_than d` is
    `actual < now - d`, its cut-off computed once per task."""
    if op.name in _RELATIVE and isinstance(expected, timedelta):
        return _RELATIVE[op.name], now - expected
    if op.name in _BUILTIN:
        return _BUILTIN[op.name], expected
    fn = op.fn
    return lambda actual, value: fn(actual, value, now), expected


_RELATIVE = {"older_than": operator.lt, "newer_than": operator.gt}
_BUILTIN: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "lte": operator.le, "gt": operator.gt,
    "gte": operator.ge, "before": operator.lt, "after": operator.gt, "contains": operator.contains,
}  # fmt: skip


def _dynamic_leaf(op: Operator, leaf: Leaf, task: Facts, now: datetime, columns: Columns) -> EntryFilter:
    """A leaf whose value refers to another entry fact: resolved per entry (rare)."""

    def keep(candidates: list[int]) -> list[int]:
        def holds(i: int) -> bool:
            def fact(name: str) -> object:
                return columns[name][i] if name.startswith(ENTRY_SCOPE) else task.get(name)

            return apply(op, fact(leaf.field), _resolve(leaf.expected, fact), now)

        return [i for i in candidates if holds(i)]

    return keep


def _refers_to_entry(expected: object) -> bool:
    items = expected if isinstance(expected, tuple) else (expected,)
    return any(isinstance(item, Ref) and item.name.startswith(ENTRY_SCOPE) for item in items)


def _resolve(expected: object, fact: Callable[[str], object]) -> object:
    """`conditions.resolve` through a lookup function (entry and task facts are not merged here)."""
    if isinstance(expected, Ref):
        return fact(expected.name)
    if isinstance(expected, tuple):
        return tuple(_resolve(item, fact) for item in expected)
    return expected
