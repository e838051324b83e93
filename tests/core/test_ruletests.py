# ruff: noqa: E501 - rule files are written inline as YAML text, one YAML line per source line
"""Inline rule tests: parsed at load, run through the engine, and the shipped rules' tests pass."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from service.core.loader import load_ruleset
from service.core.operators import OPERATORS
from service.core.rules import RuleSet
from service.core.ruletests import DEFAULT_NOW, run_inline_tests

ROOT = Path(__file__).resolve().parents[2]


def ruleset(text: str) -> RuleSet:
    result = load_ruleset({"r.yaml": text})
    assert result.ruleset is not None, [str(p) for p in result.problems]
    return result.ruleset


def test_shipped_rules_load_and_their_inline_tests_pass() -> None:
    files = {
        str(path.relative_to(ROOT)): path.read_text() for path in sorted((ROOT / "rules").glob("*.yaml"))
    }
    result = load_ruleset(files)
    assert result.problems == ()
    assert result.ruleset is not None
    names = {rule.name for rule in result.ruleset.rules}
    assert {"drop-zero-duration-entries", "void-time-before-reopen"} <= names
    results = run_inline_tests(result.ruleset)
    assert len(results) >= 4
    assert all(r.passed for r in results), [r for r in results if not r.passed]
    reopen = result.ruleset.rule("void-time-before-reopen")
    assert reopen is not None
    assert (reopen.mode, reopen.limit, reopen.on) == ("shadow", 20, frozenset({"ONTASKUPDATE"}))


def test_a_failing_inline_test_reports_expected_and_actual() -> None:
    text = (
        "- name: r\n  on: ONTASKUPDATE\n  action: delete\n  where: {entry.seconds: 0}\n  tests:\n"
        "    - name: wrong expectation\n      entries: [{id: 1, seconds: 0}, {id: 2, seconds: 0}]\n      deletes: [2]\n"
    )
    (result,) = run_inline_tests(ruleset(text))
    assert (result.rule, result.name, result.passed) == ("r", "wrong expectation", False)
    assert (result.expected, result.actual, result.file, result.line) == ((2,), (1, 2), "r.yaml", 6)


def test_facts_given_as_values_reach_the_engine_in_portal_shape() -> None:
    text = (
        "- name: r\n  on: [ONTASKADD, ONTASKUPDATE]\n  action: delete\n"
        "  when: {task.status: completed, task.tags: {contains: billing}, task.previous_status: in_progress}\n"
        "  where: {entry.user_id: $task.responsible_id, entry.created_date: {older_than: 7d}, entry.comment: {matches: '^x'}}\n"
        "  tests:\n"
        "    - name: all facts used\n"
        "      now: 2025-09-27T12:00:00+00:00\n"
        "      task: {id: 5, status: completed, tags: [billing, q3], previous_status: 3, responsible_id: 7}\n"
        "      entries:\n"
        "        - {id: 1, user_id: 7, created_date: '2025-09-01T10:00:00+02:00', comment: xyz}\n"
        "        - {id: 2, user_id: 8, created_date: '2025-09-01T10:00:00+02:00', comment: xyz}\n"
        "        - {id: 3, user_id: 7, created_date: '2025-09-26T10:00:00+02:00', comment: xyz}\n"
        "        - {id: 4, user_id: 7, created_date: '2025-09-01T10:00:00+02:00', comment: abc}\n"
        "        - {id: 5, user_id: 7, created_date: '2025-09-01T10:00:00+02:00', comment: xyz, task_id: 6}\n"
        "      deletes: [1]\n"
    )
    rules = ruleset(text)
    (test,) = rules.rules[0].tests
    assert (test.event, test.now) == ("ONTASKADD", datetime(2025, 9, 27, 12, tzinfo=UTC))
    (result,) = run_inline_tests(rules)
    assert result.passed, result


def test_default_event_is_the_first_on_as_written_and_now_has_a_default() -> None:
    text = (
        "- name: r\n  on: [ontaskupdate, ONTASKADD]\n  action: delete\n  where: {entry.seconds: 0}\n"
        "  tests:\n    - {name: t, entries: [{id: 1, seconds: 0}], deletes: [1]}\n"
        "    - {name: other event, event: ontaskdelete, entries: [{id: 1, seconds: 0}], deletes: []}\n"
    )
    rules = ruleset(text)
    first, other = rules.rules[0].tests
    assert (first.event, first.now, other.event) == ("ONTASKUPDATE", DEFAULT_NOW, "ONTASKDELETE")
    assert all(r.passed for r in run_inline_tests(rules))


def test_disabled_rules_are_still_tested_and_tripped_rules_delete_nothing() -> None:
    text = (
        "- name: r\n  on: ONTASKUPDATE\n  enabled: false\n  limit: 1\n  action: delete\n  where: {entry.seconds: 0}\n"
        "  tests:\n"
        "    - {name: within limit, entries: [{id: 1, seconds: 0}], deletes: [1]}\n"
        "    - {name: over limit, entries: [{id: 1, seconds: 0}, {id: 2, seconds: 0}], deletes: []}\n"
    )
    assert [r.passed for r in run_inline_tests(ruleset(text))] == [True, True]


def test_reopen_facts_drive_the_transition() -> None:
    text = (
        "- name: r\n  on: ONTASKUPDATE\n  when: {task.reopened: true}\n  action: delete\n"
        "  where: {entry.created_date: {before: $task.reopened_at}}\n  tests:\n"
        "    - name: reopened\n      task: {reopened: true, reopened_at: '2025-09-27T09:12:00+02:00'}\n"
        "      entries: [{id: 1, created_date: '2025-09-27T09:00:00+02:00'}, {id: 2, created_date: '2025-09-27T09:30:00+02:00'}]\n"
        "      deletes: [1]\n"
        "    - name: not reopened\n      task: {reopened_at: '2025-09-27T09:12:00+02:00'}\n"
        "      entries: [{id: 1, created_date: '2025-09-27T09:00:00+02:00'}]\n      deletes: []\n"
    )
    assert [r.passed for r in run_inline_tests(ruleset(text))] == [True, True]


def test_every_complete_rule_example_in_the_docs_loads_and_its_tests_pass() -> None:
    text = (ROOT / "docs" / "rules.md").read_text()
    blocks = [block.split("```", 1)[0] for block in text.split("```yaml\n")[1:]]
    rule_files = {f"docs-{i}.yaml": block for i, block in enumerate(blocks) if block.startswith("- name:")}
    assert len(rule_files) >= 7
    for path, block in rule_files.items():
        result = load_ruleset({path: block})
        assert result.problems == (), [str(p) for p in result.problems]
        assert result.ruleset is not None
        assert all(r.passed for r in run_inline_tests(result.ruleset)), path


def test_every_operator_example_in_the_docs_compiles() -> None:
    text = (ROOT / "docs" / "rules.md").read_text()
    block = next(
        b.split("```", 1)[0] for b in text.split("```yaml\n")[1:] if b.startswith("entry.seconds: {eq: 0}")
    )
    lines = [line.split("  #", 1)[0] for line in block.splitlines() if line.strip()]
    head = "- name: r\n  on: ONTASKUPDATE\n  action: delete\n  where:\n"
    used = set()
    for line in lines:
        result = load_ruleset({"r.yaml": head + "    " + line + "\n"})
        assert result.problems == (), (line, [str(p) for p in result.problems])
        used.add(line.split("{", 1)[1].split(":", 1)[0])
    assert used == set(OPERATORS)
