"""Load rule files: YAML text → a typed `RuleSet`, or every problem at once with its file:line:col.

The caller reads the files and passes `{path: text}`; nothing here touches the disk. Nothing that can be
checked now is left for run time: fields, operators, value types, references, regexes, durations,
statuses, event and action names, duplicate names and keys, and the inline tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from service.core.conditions import Condition, compile_condition, leaves
from service.core.notify import parse_notify
from service.core.positions import Node, Problem, Reporter, did_you_mean, quote
from service.core.rules import ACTIONS, EVENT_NAMES, MODES, Rule, RuleSet, ruleset_version
from service.core.ruletests import parse_tests
from service.core.yamlnodes import parse_yaml

RULE_KEYS = (
    *("name", "description", "on", "when", "where", "action", "mode", "enabled", "limit", "tests"),
    "notify",
)
NAME = re.compile(r"^[a-z0-9-]+$")
WHEN_SCOPES = frozenset({"event", "task"})
WHERE_SCOPES = frozenset({"event", "task", "entry"})
RELATIVE_OPS = frozenset({"older_than", "newer_than"})


@dataclass(frozen=True)
class LoadResult:
    ruleset: RuleSet | None  # None when there is any problem: a rule set is used whole or not at all
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def load_ruleset(files: Mapping[str, str]) -> LoadResult:
    """Parse and check every file; problems come back sorted by file, line and column."""
    problems: list[Problem] = []
    rules: list[Rule] = []
    names: list[_Named] = []
    for path in sorted(files):
        report = Reporter(path, problems=problems)
        root = parse_yaml(files[path], report)
        if root is not None:
            rules.extend(_load_file(root, report, names))
    _check_unique_names(names, problems)
    ordered = tuple(sorted(problems, key=Problem.sort_key))
    if ordered:
        return LoadResult(None, ordered)
    return LoadResult(RuleSet(tuple(rules), ruleset_version(files), tuple(sorted(files))), ())


@dataclass(frozen=True)
class _Named:
    """Where a rule's name was written; kept even for rules with problems, to find duplicates."""

    name: str
    file: str
    line: int
    col: int


def _load_file(root: Node, report: Reporter, names: list[_Named]) -> list[Rule]:
    if root.kind != "seq":
        # A document that is one scalar is not a rule file (a stray or linked file parses as one long
        # string): say what it is, never quote it.
        got = "text" if root.kind == "scalar" else root.describe()
        report.error(root, f"a rule file must be a list of rules (each starting with '- name:'), got {got}")
        return []
    rules = [_load_rule(node, report, names) for node in root.items]
    return [rule for rule in rules if rule is not None]


def _load_rule(node: Node, file_report: Reporter, names: list[_Named]) -> Rule | None:
    if node.kind != "map":
        file_report.error(
            node, f"a rule must be a mapping with at least name, on and action, got {node.describe()}"
        )
        return None
    keys: dict[str, Node] = {}
    for key, value in node.pairs:
        keys.setdefault(key.key_text, value)
    name_node = keys.get("name")
    # The source text, not the YAML 1.1 value: `name: off` is the name "off", not the boolean false.
    has_name = name_node is not None and name_node.kind == "scalar" and name_node.scalar is not None
    name = name_node.text if name_node is not None and has_name else None
    if name_node is not None and name is not None:
        names.append(_Named(name, file_report.file, name_node.line, name_node.col))
    report = file_report.for_rule(name)
    before = len(report.problems)
    _check_keys(node, report)
    rule = _build_rule(node, keys, name, report)
    return rule if len(report.problems) == before else None


def _check_keys(node: Node, report: Reporter) -> None:
    seen: set[str] = set()
    for key, _ in node.pairs:
        text = key.key_text
        if text in seen:
            report.error(key, f"duplicate key {quote(text)}")
        elif text not in RULE_KEYS:
            report.error(key, f"unknown rule key {quote(text)}{did_you_mean(text, RULE_KEYS)}")
        seen.add(text)


def _build_rule(node: Node, keys: dict[str, Node], name: str | None, report: Reporter) -> Rule | None:
    _check_name(node, keys.get("name"), report)
    on = _load_on(node, keys.get("on"), report)
    when = _condition(keys.get("when"), "when", WHEN_SCOPES, report)
    where = _condition(keys.get("where"), "where", WHERE_SCOPES, report)
    action = _choice(node, keys.get("action"), "action", ACTIONS, None, report)
    if action == "delete" and "where" not in keys:
        report.error(
            node,
            "action 'delete' needs a 'where'; to select every entry write where: {entry.id: {exists: true}}",
        )
    mode = _choice(node, keys.get("mode"), "mode", MODES, "enforce", report)
    enabled = _flag(keys.get("enabled"), report)
    limit = _limit(keys.get("limit"), report)
    description = _description(keys.get("description"), report)
    ops = {leaf.op for condition in (when, where) if condition is not None for leaf in leaves(condition)}
    default_event = on[0] if on else "ONTASKUPDATE"
    tests = parse_tests(keys.get("tests"), default_event, bool(ops & RELATIVE_OPS), report)
    notify = parse_notify(keys.get("notify"), report)
    if name is None or action is None or mode is None:
        return None
    file, line, col = report.file, node.line, node.col
    return Rule(
        name,
        description,
        frozenset(on),
        when,
        where,
        action,
        mode,
        enabled,
        limit,
        tests,
        file,
        line,
        col,
        notify,
    )


def _check_name(rule: Node, node: Node | None, report: Reporter) -> None:
    if node is None:
        report.error(rule, "rule is missing 'name'")
    elif node.kind != "scalar" or not NAME.match(node.text):
        report.error(node, f"name must be lower-case letters, digits and '-', got {node.describe()}")


def _load_on(rule: Node, node: Node | None, report: Reporter) -> list[str]:
    """Event names in the order written (the first is the inline tests' default event)."""
    if node is None:
        report.error(rule, f"rule is missing 'on' (event names: {', '.join(EVENT_NAMES)})")
        return []
    items = node.items if node.kind == "seq" else (node,)
    if not items:
        report.error(node, "'on' needs at least one event name")
    names: list[str] = []
    for item in items:
        text = item.scalar.upper() if isinstance(item.scalar, str) else None
        if text in EVENT_NAMES:
            names.append(text)
        else:
            hint = did_you_mean(str(item.scalar).upper(), EVENT_NAMES) if item.kind == "scalar" else ""
            report.error(item, f"unknown event {item.shown()}{hint}")
    return names


def _condition(node: Node | None, path: str, scopes: frozenset[str], report: Reporter) -> Condition | None:
    return None if node is None else compile_condition(node, path, scopes, report)


def _choice(
    rule: Node, node: Node | None, key: str, choices: tuple[str, ...], default: str | None, report: Reporter
) -> str | None:
    if node is None:
        if default is None:
            report.error(rule, f"rule is missing {key!r} (one of: {', '.join(choices)})")
        return default
    if isinstance(node.scalar, str) and node.scalar in choices:
        return node.scalar
    hint = did_you_mean(str(node.scalar), choices) if node.kind == "scalar" else ""
    report.error(node, f"unknown {key} {node.shown()}{hint}; use one of: {', '.join(choices)}")
    return None


def _flag(node: Node | None, report: Reporter) -> bool:
    if node is None:
        return True
    if isinstance(node.scalar, bool):
        return node.scalar
    report.error(node, f"enabled must be true or false, got {node.describe()}")
    return False


def _limit(node: Node | None, report: Reporter) -> int | None:
    if node is None:
        return None
    if type(node.scalar) is int and node.scalar > 0:
        return node.scalar
    report.error(node, f"limit must be a positive whole number, got {node.describe()}")
    return None


def _description(node: Node | None, report: Reporter) -> str:
    if node is None or (node.kind == "scalar" and node.scalar is None):
        return ""
    if isinstance(node.scalar, str):
        return node.scalar
    report.error(node, f"description must be text, got {node.describe()}")
    return ""


def _check_unique_names(names: list[_Named], problems: list[Problem]) -> None:
    first: dict[str, _Named] = {}
    for named in names:
        earlier = first.setdefault(named.name, named)
        # Compare by value: names from different files are different objects (an `is` test never fires).
        if earlier != named:
            where = f"{earlier.file}:{earlier.line}:{earlier.col}"
            message = f"duplicate rule name (first defined at {where})"
            problems.append(Problem(named.file, named.line, named.col, named.name, message))
