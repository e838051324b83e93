"""Conditions: compile a rule's `when`/`where` mapping into a typed tree, and evaluate it with a trace.

Compilation type-checks everything it can (fields, operators, value types, `$references`, regexes,
durations) and reports each problem at its file position. Evaluation runs every condition, never
stopping at the first failure, so the trace can show why a rule did not match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from service.core.durations import DurationError, parse_duration
from service.core.facts import CLOSED_VALUES, FACT_TYPES, FactType, coerce
from service.core.operators import OPERATORS, Operator, ValueKind, apply
from service.core.positions import Node, Reporter, did_you_mean

COMBINATORS = ("all", "any", "not")


@dataclass(frozen=True)
class Ref:
    """A `$field` value: read from another fact at evaluation time."""

    name: str


@dataclass(frozen=True)
class Leaf:
    path: str  # e.g. "where.any[0].entry.seconds"
    field: str
    op: str
    expected: object  # typed literal, Ref, or a tuple of those (in, not_in, between)


@dataclass(frozen=True)
class Group:
    path: str
    kind: str  # all | any | not
    children: tuple[Condition, ...]


Condition = Leaf | Group


@dataclass(frozen=True)
class ConditionTrace:
    """One condition as evaluated: where it is, what it compared, and whether it held."""

    path: str
    op: str
    expected: object
    actual: object
    ok: bool
    # The `$field` the expected value was read from, if any: "before $task.reopened_at" explains more
    # than a bare date. Not part of equality: it describes the value, it does not change it.
    ref: str | None = field(default=None, compare=False)


class _Invalid:
    """Marks a value that failed to compile (the problem is already reported)."""


INVALID = _Invalid()


def compile_condition(node: Node, path: str, scopes: frozenset[str], report: Reporter) -> Condition | None:
    """A `field: value` / `field: {op: value}` / all / any / not mapping → a condition tree, or None."""
    if node.kind != "map" or not node.pairs:
        report.error(node, f"'{path}' must be a non-empty mapping of conditions, got {node.describe()}")
        return None
    children = [_compile_key(key, value, path, scopes, report) for key, value in node.pairs]
    valid = tuple(child for child in children if child is not None)
    if len(valid) != len(children) or _has_duplicate_keys(node, report):
        return None
    return valid[0] if len(valid) == 1 else Group(path, "all", valid)


def _compile_key(
    key: Node, value: Node, path: str, scopes: frozenset[str], report: Reporter
) -> Condition | None:
    name = key.key_text
    if name in ("all", "any"):
        if value.kind != "seq" or not value.items:
            report.error(value, f"'{name}' needs a non-empty list of conditions, got {value.describe()}")
            return None
        parts = [
            compile_condition(item, f"{path}.{name}[{i}]", scopes, report)
            for i, item in enumerate(value.items)
        ]
        valid = tuple(part for part in parts if part is not None)
        return Group(f"{path}.{name}", name, valid) if len(valid) == len(parts) else None
    if name == "not":
        inner = compile_condition(value, f"{path}.not", scopes, report)
        return Group(f"{path}.not", "not", (inner,)) if inner is not None else None
    if not _check_field(key, name, scopes, report):
        return None
    return _compile_field(name, value, f"{path}.{name}", scopes, report)


def _check_field(node: Node, name: str, scopes: frozenset[str], report: Reporter) -> bool:
    if name not in FACT_TYPES:
        hint = did_you_mean(name, [*FACT_TYPES, *COMBINATORS])
        report.error(node, f"unknown field {name!r}{hint}")
        return False
    if name.split(".", 1)[0] not in scopes:
        report.error(node, f"field {name!r} is not available here: 'when' sees only event.* and task.*")
        return False
    return True


def _compile_field(
    field: str, value: Node, path: str, scopes: frozenset[str], report: Reporter
) -> Condition | None:
    if value.kind == "seq":
        report.error(value, f"{field}: a list needs an operator, e.g. {{in: [...]}}")
        return None
    if value.kind != "map":
        if FACT_TYPES[field] not in OPERATORS["eq"].accepts:
            report.error(value, f"{field} is a list; test it with an operator, e.g. {{contains: ...}}")
            return None
        expected = compile_value(OPERATORS["eq"], field, value, scopes, report)
        return None if expected is INVALID else Leaf(path, field, "eq", expected)
    if not value.pairs:
        report.error(value, f"{field}: needs at least one operator")
        return None
    compiled: list[Leaf] = []
    for op_key, op_value in value.pairs:
        op = _operator(field, op_key, report)
        expected = INVALID if op is None else compile_value(op, field, op_value, scopes, report)
        if op is not None and expected is not INVALID:
            compiled.append(Leaf(path, field, op.name, expected))
    if len(compiled) != len(value.pairs) or _has_duplicate_keys(value, report):
        return None
    return compiled[0] if len(compiled) == 1 else Group(path, "all", tuple(compiled))


def _has_duplicate_keys(node: Node, report: Reporter) -> bool:
    """YAML keeps both of two equal keys; a reader expects one to win. Neither does: it is an error."""
    seen: set[str] = set()
    found = False
    for key, _ in node.pairs:
        if key.key_text in seen:
            report.error(key, f"duplicate key {key.key_text!r}")
            found = True
        seen.add(key.key_text)
    return found


def _operator(field: str, key: Node, report: Reporter) -> Operator | None:
    op = OPERATORS.get(key.key_text)
    if op is None:
        report.error(key, f"unknown operator {key.key_text!r}{did_you_mean(key.key_text, OPERATORS)}")
        return None
    fact_type = FACT_TYPES[field]
    if fact_type not in op.accepts:
        accepted = ", ".join(sorted(t.value for t in op.accepts))
        report.error(
            key, f"operator {op.name!r} does not apply to {field} ({fact_type.value}); it takes {accepted}"
        )
        return None
    return op


def compile_value(op: Operator, field: str, node: Node, scopes: frozenset[str], report: Reporter) -> object:
    """The operator's value, typed for `field`; INVALID (after reporting) when it cannot be."""
    fact_type = FACT_TYPES[field]
    kind = op.value
    if kind in (ValueKind.LIST, ValueKind.PAIR):
        return _compile_list(op, field, node, scopes, report)
    if node.kind != "scalar":
        report.error(node, f"{field} {op.name}: expected {kind.value}, got {node.describe()}")
        return INVALID
    value = node.scalar
    if kind is ValueKind.BOOL:
        return (
            value
            if isinstance(value, bool)
            else _bad(report, node, field, op, f"expected true or false, got {node.describe()}")
        )
    if kind is ValueKind.REGEX:
        return _compile_regex(op, field, node, report)
    if kind is ValueKind.DURATION:
        try:
            return parse_duration(value)
        except DurationError as error:
            return _bad(report, node, field, op, str(error))
    wanted = FactType.STR if kind is ValueKind.ELEMENT else fact_type
    return _literal_or_ref(op, field, wanted, node, scopes, report)


def _literal_or_ref(
    op: Operator, field: str, wanted: FactType, node: Node, scopes: frozenset[str], report: Reporter
) -> object:
    value = node.scalar
    if isinstance(value, str) and value.startswith("$") and not value.startswith("$$"):
        return _compile_ref(op, field, wanted, node, scopes, report)
    if isinstance(value, str) and value.startswith("$$"):
        value = value[1:]  # `$$x` is the literal text `$x`
    if value is None:
        return _bad(report, node, field, op, "empty value; to test for a missing value use {exists: false}")
    try:
        typed = coerce(wanted, value)
    except ValueError as error:
        return _bad(report, node, field, op, str(error))
    return _closed_value(op, field, typed, node, report)


def _closed_value(op: Operator, field: str, value: object, node: Node, report: Reporter) -> object:
    """`event.name: ontaskadd` means ONTASKADD; `event.source: swep` is a typo, not a rare value."""
    choices = CLOSED_VALUES.get(field)
    if choices is None or op.value not in (ValueKind.SAME, ValueKind.LIST) or not isinstance(value, str):
        return value
    normal = value.upper() if field == "event.name" else value
    if normal not in choices:
        hint = did_you_mean(normal, choices)
        return _bad(
            report, node, field, op, f"unknown value {value!r}{hint}; use one of: {', '.join(choices)}"
        )
    return normal


def _compile_ref(
    op: Operator, field: str, wanted: FactType, node: Node, scopes: frozenset[str], report: Reporter
) -> object:
    name = str(node.scalar)[1:]
    if name not in FACT_TYPES:
        return _bad(
            report, node, field, op, f"unknown field in reference '${name}'{did_you_mean(name, FACT_TYPES)}"
        )
    if name.split(".", 1)[0] not in scopes:
        return _bad(report, node, field, op, f"reference '${name}' is not available in 'when'")
    if FACT_TYPES[name] is not wanted:
        got = FACT_TYPES[name].value
        return _bad(report, node, field, op, f"'${name}' is {got}, but this needs {wanted.value}")
    return Ref(name)


def _compile_list(op: Operator, field: str, node: Node, scopes: frozenset[str], report: Reporter) -> object:
    if node.kind != "seq" or not node.items:
        return _bad(report, node, field, op, f"expected {op.value.value}, got {node.describe()}")
    if op.value is ValueKind.PAIR and len(node.items) != 2:
        return _bad(report, node, field, op, f"expected [low, high], got a list of {len(node.items)}")
    fact_type = FACT_TYPES[field]
    values = [_literal_or_ref(op, field, fact_type, item, scopes, report) for item in node.items]
    if any(value is INVALID for value in values):
        return INVALID
    if op.value is ValueKind.PAIR and not any(isinstance(v, Ref) for v in values) and values[0] > values[1]:  # type: ignore[operator]
        return _bad(report, node, field, op, "the low bound is greater than the high bound")
    return tuple(values)


def _compile_regex(op: Operator, field: str, node: Node, report: Reporter) -> object:
    if not isinstance(node.scalar, str):
        return _bad(report, node, field, op, f"expected a regular expression, got {node.describe()}")
    try:
        return re.compile(node.scalar)
    except re.error as error:
        return _bad(report, node, field, op, f"bad regular expression: {error}")


def _bad(report: Reporter, node: Node, field: str, op: Operator, message: str) -> _Invalid:
    report.error(node, f"{field} {op.name}: {message}")
    return INVALID


def evaluate(
    condition: Condition, facts: Mapping[str, object], now: datetime
) -> tuple[bool, tuple[ConditionTrace, ...]]:
    """Whether `condition` holds for `facts`, and the trace of every leaf (all are evaluated)."""
    if isinstance(condition, Leaf):
        actual = facts.get(condition.field)
        expected = resolve(condition.expected, facts)
        ok = apply(OPERATORS[condition.op], actual, expected, now)
        shown = expected.pattern if isinstance(expected, re.Pattern) else expected
        ref = condition.expected.name if isinstance(condition.expected, Ref) else None
        return ok, (ConditionTrace(condition.path, condition.op, shown, actual, ok, ref),)
    results = [evaluate(child, facts, now) for child in condition.children]
    oks = [ok for ok, _ in results]
    trace = tuple(item for _, child_trace in results for item in child_trace)
    if condition.kind == "any":
        return any(oks), trace
    if condition.kind == "not":
        return not oks[0], trace
    return all(oks), trace


def resolve(expected: object, facts: Mapping[str, object]) -> object:
    if isinstance(expected, Ref):
        return facts.get(expected.name)
    if isinstance(expected, tuple):
        return tuple(resolve(item, facts) for item in expected)
    return expected


def leaves(condition: Condition) -> tuple[Leaf, ...]:
    if isinstance(condition, Leaf):
        return (condition,)
    return tuple(leaf for child in condition.children for leaf in leaves(child))


def referenced_fields(condition: Condition) -> frozenset[str]:
    """Every fact a condition reads, directly or through `$references`."""
    names: set[str] = set()
    for leaf in leaves(condition):
        names.add(leaf.field)
        items = leaf.expected if isinstance(leaf.expected, tuple) else (leaf.expected,)
        names.update(item.name for item in items if isinstance(item, Ref))
    return frozenset(names)
