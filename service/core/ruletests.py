"""Inline rule tests: a rule's `tests:` (task facts, entries, expected ids) parsed at load, run offline.

Each test feeds a task snapshot and entries, written as facts (`status: pending`, `seconds: 0`), through
the real engine as Bitrix24-shaped strings, so the tests also exercise the parsing of portal values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from service.core.engine import evaluate
from service.core.facts import ENTRY_SOURCES, FACT_TYPES, TASK_SOURCES, EventInput, FactType, coerce
from service.core.positions import Node, Reporter, did_you_mean, keyed
from service.core.rules import EVENT_NAMES, InlineTest, RuleSet
from service.core.transitions import Transition

TEST_KEYS = ("name", "event", "task", "entries", "now", "deletes")
# Used when a test gives no `now` (allowed only when the rule has no older_than/newer_than).
DEFAULT_NOW = datetime(2000, 1, 1, tzinfo=UTC)
DEFAULT_TASK_ID = 1
TASK_FIELDS = {name.removeprefix("task."): name for name in FACT_TYPES if name.startswith("task.")}
ENTRY_FIELDS = {name.removeprefix("entry."): name for name in FACT_TYPES if name.startswith("entry.")}


@dataclass(frozen=True)
class InlineTestResult:
    rule: str
    name: str
    passed: bool
    expected: tuple[int, ...]
    actual: tuple[int, ...]
    file: str
    line: int
    col: int = 1

    @property
    def position(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def problem(self) -> str:
        """A failed test as a rule-file problem: `file:line:col: rule 'name': inline test …`."""
        return (
            f"{self.position}: rule '{self.rule}': inline test '{self.name}' failed: expected to delete "
            f"{list(self.expected)}, would delete {list(self.actual)}"
        )


def parse_tests(
    node: Node | None, default_event: str, needs_now: bool, report: Reporter
) -> tuple[InlineTest, ...]:
    """A rule's `tests:` list, checked like the rest of the rule (problems reported with positions)."""
    if node is None:
        return ()
    if node.kind != "seq":
        report.error(node, f"tests must be a list, got {node.describe()}")
        return ()
    tests = [_parse_test(item, default_event, needs_now, report) for item in node.items]
    return tuple(test for test in tests if test is not None)


def _parse_test(node: Node, default_event: str, needs_now: bool, report: Reporter) -> InlineTest | None:
    if node.kind != "map":
        report.error(node, f"a test must be a mapping with name, entries and deletes, got {node.describe()}")
        return None
    before = len(report.problems)
    keys = keyed(node, TEST_KEYS, "test key", report)
    name = _text(node, keys.get("name"), "name", report)
    event = _event(keys.get("event"), default_event, report)
    task = _facts(keys.get("task"), TASK_FIELDS, "task field", report)
    entries = _entries(keys.get("entries"), report)
    now = _now(node, keys.get("now"), needs_now, report)
    deletes = _deletes(node, keys.get("deletes"), {entry.get("entry.id") for entry in entries}, report)
    if len(report.problems) != before:
        return None
    return InlineTest(name, event, task, tuple(entries), now, deletes, node.line, node.col)


def _text(parent: Node, node: Node | None, key: str, report: Reporter) -> str:
    if node is None:
        report.error(parent, f"test is missing {key!r}")
        return ""
    if not isinstance(node.scalar, str) or not node.scalar:
        report.error(node, f"test {key} must be text, got {node.describe()}")
        return ""
    return node.scalar


def _event(node: Node | None, default: str, report: Reporter) -> str:
    if node is None:
        return default
    text = node.scalar.upper() if isinstance(node.scalar, str) else ""
    if text not in EVENT_NAMES:
        report.error(node, f"unknown event {node.shown()}{did_you_mean(text, EVENT_NAMES)}")
    return text


def _facts(node: Node | None, fields: Mapping[str, str], what: str, report: Reporter) -> dict[str, object]:
    if node is None:
        return {}
    if node.kind != "map":
        report.error(node, f"expected a mapping of {what}s, got {node.describe()}")
        return {}
    facts: dict[str, object] = {}
    for short, value in keyed(node, fields, what, report).items():
        name = fields[short]
        try:
            facts[name] = _typed(name, value)
        except ValueError as error:
            report.error(value, f"{name}: {error}")
    return facts


def _typed(name: str, node: Node) -> object:
    if FACT_TYPES[name] is FactType.TAGS:
        if node.kind != "seq" or not all(isinstance(item.scalar, str) for item in node.items):
            raise ValueError(f"expected a list of tag names, got {node.describe()}")
        return tuple(str(item.scalar) for item in node.items)
    if node.kind != "scalar" or node.scalar is None:
        raise ValueError(f"expected a single value, got {node.describe()}")
    return coerce(FACT_TYPES[name], node.scalar)


def _entries(node: Node | None, report: Reporter) -> list[dict[str, object]]:
    if node is None:
        return []
    if node.kind != "seq":
        report.error(node, f"entries must be a list, got {node.describe()}")
        return []
    entries: list[dict[str, object]] = []
    for item in node.items:
        facts = _facts(item, ENTRY_FIELDS, "entry field", report)
        if item.kind == "map" and "entry.id" not in facts:
            report.error(item, "test entry is missing 'id'")
        elif "entry.id" in facts and facts["entry.id"] in {entry.get("entry.id") for entry in entries}:
            report.error(item, f"duplicate entry id {facts['entry.id']}")
        entries.append(facts)
    return entries


def _now(parent: Node, node: Node | None, needs_now: bool, report: Reporter) -> datetime:
    if node is None:
        if needs_now:
            report.error(parent, "this rule uses older_than/newer_than: give the test a 'now'")
        return DEFAULT_NOW
    try:
        value = coerce(FactType.DATETIME, node.scalar)
    except ValueError as error:
        report.error(node, f"now: {error}")
        return DEFAULT_NOW
    assert isinstance(value, datetime)
    return value


def _deletes(parent: Node, node: Node | None, ids: set[object], report: Reporter) -> tuple[int, ...]:
    if node is None:
        report.error(parent, "test is missing 'deletes' (the entry ids this rule should select; [] for none)")
        return ()
    if node.kind != "seq":
        report.error(node, f"deletes must be a list of entry ids, got {node.describe()}")
        return ()
    found: list[int] = []
    for item in node.items:
        if type(item.scalar) is not int or item.scalar not in ids:
            report.error(item, f"deletes: {item.describe()} is not the id of an entry of this test")
        else:
            found.append(item.scalar)
    return tuple(sorted(found))


def run_inline_tests(ruleset: RuleSet) -> list[InlineTestResult]:
    """Run every rule's inline tests through the engine, one rule at a time (disabled rules too)."""
    results = []
    for rule in ruleset.rules:
        alone = RuleSet((replace(rule, enabled=True),), ruleset.version, ruleset.files)
        for test in rule.tests:
            actual = _selected(alone, rule.name, test)
            results.append(
                InlineTestResult(
                    rule.name,
                    test.name,
                    actual == test.deletes,
                    test.deletes,
                    actual,
                    rule.file,
                    test.line,
                    test.col,
                )
            )
    return results


def failed_tests(ruleset: RuleSet) -> tuple[str, ...]:
    """Every failing inline test as a problem line; empty when they all pass (the service's gate)."""
    return tuple(result.problem() for result in run_inline_tests(ruleset) if not result.passed)


def _selected(ruleset: RuleSet, rule: str, test: InlineTest) -> tuple[int, ...]:
    task_id = test.task.get("task.id", DEFAULT_TASK_ID)
    task = {camel: _raw(test.task.get(name)) for name, (camel, _) in TASK_SOURCES.items()}
    task["id"] = _raw(task_id)
    entries = [_raw_entry(entry, task_id) for entry in test.entries]
    previous = test.task.get("task.previous_status")
    reopened_at = test.task.get("task.reopened_at")
    transition = Transition(
        previous if isinstance(previous, int) else None,
        test.task.get("task.reopened") is True,
        reopened_at if isinstance(reopened_at, datetime) else None,
    )
    event = EventInput(test.event, test.now, "", "", "event")
    plan = evaluate(ruleset, event=event, task=task, entries=entries, transition=transition, now=test.now)
    return tuple(sorted(d.item_id for d in plan.deletions if d.rule == rule and not d.over_limit))


def _raw_entry(entry: Mapping[str, object], task_id: object) -> dict[str, object]:
    raw = {key: _raw(entry.get(name)) for name, key in ENTRY_SOURCES.items()}
    raw["TASK_ID"] = _raw(entry.get("entry.task_id", task_id))
    return raw


def _raw(value: object) -> object:
    """A typed fact back into the shape Bitrix24 sends: strings, ISO dates, the tags mapping."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return {str(i): {"id": str(i), "title": title} for i, title in enumerate(value, start=1)}
    return str(value)
