"""A condition's value: typed for its field and operator, checked where a rule is loaded.

Literals are coerced to the field's type (closed sets such as event names catch typos), `$field`
references are checked for existence, scope and type, regexes and durations are compiled. Each problem
is reported at its file position; the value is then INVALID and its condition does not compile.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.core.durations import DurationError, parse_duration
from service.core.facts import CLOSED_VALUES, FACT_TYPES, FactType, coerce
from service.core.operators import Operator, ValueKind
from service.core.positions import Node, Reporter, did_you_mean, quote
from service.core.regexes import RegexError, compile_regex


@dataclass(frozen=True)
class Ref:
    """A `$field` value: read from another fact at evaluation time."""

    name: str


class _Invalid:
    """Marks a value that failed to compile (the problem is already reported)."""


INVALID = _Invalid()


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
            report, node, field, op, f"unknown value {quote(value)}{hint}; use one of: {', '.join(choices)}"
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
        return compile_regex(node.scalar)
    except RegexError as error:
        return _bad(report, node, field, op, f"bad regular expression for RE2: {error}")


def _bad(report: Reporter, node: Node, field: str, op: Operator, message: str) -> _Invalid:
    report.error(node, f"{field} {op.name}: {message}")
    return INVALID
