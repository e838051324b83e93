"""The rule set: event filtering, version hash, and what the rules need fetched from Bitrix24."""

from __future__ import annotations

from service.core.loader import load_ruleset
from service.core.rules import RuleSet, needs_history, ruleset_version, task_select

HEAD = "- name: {name}\n  on: ONTASKUPDATE\n  action: delete\n"


def ruleset(*bodies: str) -> RuleSet:
    text = "".join(HEAD.format(name=f"r{i}") + body for i, body in enumerate(bodies))
    result = load_ruleset({"r.yaml": text})
    assert result.ruleset is not None, [str(p) for p in result.problems]
    return result.ruleset


def test_select_always_has_id_and_status() -> None:
    rules = ruleset("  where: {entry.seconds: 0}\n")
    assert task_select(rules) == ("ID", "STATUS")
    assert not needs_history(rules)
    assert task_select(ruleset()) == ("ID", "STATUS")


def test_select_covers_task_facts_in_conditions_and_references() -> None:
    rules = ruleset(
        "  when: {task.title: {contains: x}, task.tags: {contains: y}}\n"
        "  where: {entry.created_date: {after: $task.closed_date}, entry.user_id: $task.responsible_id}\n"
    )
    assert task_select(rules) == ("ID", "TITLE", "STATUS", "CLOSED_DATE", "RESPONSIBLE_ID", "TAGS")


def test_reopen_facts_need_history_and_status_dates() -> None:
    rules = ruleset(
        "  when: {task.reopened: true}\n  where: {entry.created_date: {before: $task.reopened_at}}\n"
    )
    assert needs_history(rules)
    # STATUS_CHANGED_DATE dates a reopen seen against a snapshot; nothing needs CLOSED_DATE here.
    assert task_select(rules) == ("ID", "STATUS", "STATUS_CHANGED_DATE")
    assert needs_history(ruleset("  when: {task.previous_status: completed}\n  where: {entry.seconds: 0}\n"))


def test_disabled_rules_do_not_widen_the_fetch() -> None:
    rules = ruleset("  enabled: false\n  when: {task.reopened: true}\n  where: {entry.seconds: 0}\n")
    assert not needs_history(rules)
    assert task_select(rules) == ("ID", "STATUS")


def test_for_event_is_case_insensitive_and_skips_disabled() -> None:
    rules = ruleset("  where: {entry.seconds: 0}\n", "  enabled: false\n  where: {entry.seconds: 0}\n")
    assert [rule.name for rule in rules.for_event("onTaskUpdate")] == ["r0"]
    assert rules.for_event("ONTASKADD") == ()
    assert rules.rule("r1") is not None
    assert rules.rule("nope") is None


def test_version_depends_on_paths_and_texts_not_order() -> None:
    assert ruleset_version({"a": "x", "b": "y"}) == ruleset_version({"b": "y", "a": "x"})
    assert ruleset_version({"a": "x"}) != ruleset_version({"b": "x"})
    assert ruleset_version({"ab": ""}) != ruleset_version({"a": "b"})
    assert len(ruleset_version({})) == 12
