"""Conditions: compile a rule's `when`/`where` mapping into a typed tree, and evaluate it with a trace.

Compilation type-checks everything it can (fields and operators here; value types, `$references`,
regexes and durations in `condition_values.py`) and reports each problem at its file position.
Evaluation runs every condition, never stopping at the first failure, so the trace can show why a rule
did not match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from service.core.condition_values import INVALID, Ref, compile_value
from service.core.facts import FACT_TYPES
from service.core.operators import OPERATORS, Operator, apply
from service.core.positions import Node, Reporter, did_you_mean, quote
from service.core.regexes import Regex

COMBINATORS = ("all", "any", "not")


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
        report.error(node, f"unknown field {quote(name)}{hint}")
        return False
    if name.split(".", 1)[0] not in scopes:
        report.error(node, f"field {quote(name)} is not available here: 'when' sees only event.* and task.*")
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
            report.error(key, f"duplicate key {quote(key.key_text)}")
            found = True
        seen.add(key.key_text)
    return found


def _operator(field: str, key: Node, report: Reporter) -> Operator | None:
    op = OPERATORS.get(key.key_text)
    if op is None:
        report.error(key, f"unknown operator {quote(key.key_text)}{did_you_mean(key.key_text, OPERATORS)}")
        return None
    fact_type = FACT_TYPES[field]
    if fact_type not in op.accepts:
        accepted = ", ".join(sorted(t.value for t in op.accepts))
        report.error(
            key, f"operator {op.name!r} does not apply to {field} ({fact_type.value}); it takes {accepted}"
        )
        return None
    return op


def evaluate(
    condition: Condition, facts: Mapping[str, object], now: datetime
) -> tuple[bool, tuple[ConditionTrace, ...]]:
    """Whether `condition` holds for `facts`, and the trace of every leaf (all are evaluated)."""
    if isinstance(condition, Leaf):
        actual = facts.get(condition.field)
        expected = resolve(condition.expected, facts)
        ok = apply(OPERATORS[condition.op], actual, expected, now)
        shown = expected.pattern if isinstance(expected, Regex) else expected
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
