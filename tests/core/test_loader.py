# ruff: noqa: E501 - expected messages are kept whole, one per line, so they read like the CLI output
"""Every loader error path fires, with its exact message and 1-based position; valid files load whole."""

from __future__ import annotations

import pytest

from service.core.loader import load_ruleset
from service.core.positions import Problem

BASE = "- name: r\n  on: ONTASKUPDATE\n  action: delete\n"
WHERE = "  where: {entry.seconds: 0}\n"


def problems(text: str, path: str = "r.yaml") -> list[str]:
    return [str(problem) for problem in load_ruleset({path: text}).problems]


ERRORS = {
    "yaml syntax": (
        "- name: [x\n",
        "r.yaml:2:1: YAML syntax error: while parsing a flow sequence, expected ',' or ']', but got '<stream end>'",
    ),
    "two documents": (
        "- name: a\n---\n- name: b\n",
        "r.yaml:2:1: YAML syntax error: expected a single document in the stream, but found another document",
    ),
    "root is a mapping": (
        "name: x\n",
        "r.yaml:1:1: a rule file must be a list of rules (each starting with '- name:'), got a mapping",
    ),
    "rule is a scalar": (
        "- just-text\n",
        "r.yaml:1:3: a rule must be a mapping with at least name, on and action, got the string 'just-text'",
    ),
    "missing name": (
        "- on: ONTASKUPDATE\n  action: delete\n" + WHERE,
        "r.yaml:1:3: rule is missing 'name'",
    ),
    "bad name": (
        "- name: Bad_Name\n  on: ONTASKUPDATE\n  action: delete\n" + WHERE,
        "r.yaml:1:9: rule 'Bad_Name': name must be lower-case letters, digits and '-', got the string 'Bad_Name'",
    ),
    "unknown rule key": (
        BASE + "  wher: {entry.seconds: 0}\n" + WHERE,
        "r.yaml:4:3: rule 'r': unknown rule key 'wher' (did you mean 'where'?)",
    ),
    "duplicate key": (
        BASE + WHERE + "  where: {entry.seconds: 1}\n",
        "r.yaml:5:3: rule 'r': duplicate key 'where'",
    ),
    "missing on": (
        "- name: r\n  action: delete\n" + WHERE,
        "r.yaml:1:3: rule 'r': rule is missing 'on' (event names: ONTASKADD, ONTASKUPDATE, ONTASKDELETE)",
    ),
    "unknown event": (
        "- name: r\n  on: [ONTASKUPDTE, ontaskadd]\n  action: delete\n" + WHERE,
        "r.yaml:2:8: rule 'r': unknown event 'ONTASKUPDTE' (did you mean 'ONTASKUPDATE'?)",
    ),
    "event not text": (
        "- name: r\n  on: [5]\n  action: delete\n" + WHERE,
        "r.yaml:2:8: rule 'r': unknown event the number 5",
    ),
    "empty on": (
        "- name: r\n  on: []\n  action: delete\n" + WHERE,
        "r.yaml:2:7: rule 'r': 'on' needs at least one event name",
    ),
    "missing action": (
        "- name: r\n  on: ONTASKUPDATE\n" + WHERE,
        "r.yaml:1:3: rule 'r': rule is missing 'action' (one of: delete)",
    ),
    "unknown action": (
        "- name: r\n  on: ONTASKUPDATE\n  action: delet\n" + WHERE,
        "r.yaml:3:11: rule 'r': unknown action 'delet' (did you mean 'delete'?); use one of: delete",
    ),
    "delete without where": (
        BASE,
        "r.yaml:1:3: rule 'r': action 'delete' needs a 'where'; to select every entry write "
        "where: {entry.id: {exists: true}}",
    ),
    "unknown mode": (
        BASE + WHERE + "  mode: shadw\n",
        "r.yaml:5:9: rule 'r': unknown mode 'shadw' (did you mean 'shadow'?); use one of: enforce, shadow",
    ),
    "enabled not a bool": (
        BASE + WHERE + "  enabled: maybe\n",
        "r.yaml:5:12: rule 'r': enabled must be true or false, got the string 'maybe'",
    ),
    "limit zero": (
        BASE + WHERE + "  limit: 0\n",
        "r.yaml:5:10: rule 'r': limit must be a positive whole number, got the number 0",
    ),
    "limit text": (
        BASE + WHERE + "  limit: many\n",
        "r.yaml:5:10: rule 'r': limit must be a positive whole number, got the string 'many'",
    ),
    "limit bool": (
        BASE + WHERE + "  limit: true\n",
        "r.yaml:5:10: rule 'r': limit must be a positive whole number, got the boolean true",
    ),
    "description not text": (
        BASE + WHERE + "  description: [a]\n",
        "r.yaml:5:16: rule 'r': description must be text, got a list",
    ),
    "where not a mapping": (
        BASE + "  where: entry.seconds\n",
        "r.yaml:4:10: rule 'r': 'where' must be a non-empty mapping of conditions, got the string 'entry.seconds'",
    ),
    "where empty": (
        BASE + "  where: {}\n",
        "r.yaml:4:10: rule 'r': 'where' must be a non-empty mapping of conditions, got a mapping",
    ),
    "unknown field": (
        BASE + "  where: {entry.second: 0}\n",
        "r.yaml:4:11: rule 'r': unknown field 'entry.second' (did you mean 'entry.seconds'?)",
    ),
    "unknown combinator": (
        BASE + "  where: {al: [{entry.seconds: 0}]}\n",
        "r.yaml:4:11: rule 'r': unknown field 'al' (did you mean 'all'?)",
    ),
    "entry field in when": (
        BASE + "  when: {entry.seconds: 0}\n" + WHERE,
        "r.yaml:4:10: rule 'r': field 'entry.seconds' is not available here: 'when' sees only event.* and task.*",
    ),
    "any not a list": (
        BASE + "  where: {any: 3}\n",
        "r.yaml:4:16: rule 'r': 'any' needs a non-empty list of conditions, got the number 3",
    ),
    "all empty": (
        BASE + "  where: {all: []}\n",
        "r.yaml:4:16: rule 'r': 'all' needs a non-empty list of conditions, got a list",
    ),
    "not a scalar under not": (
        BASE + "  where: {not: 1}\n",
        "r.yaml:4:16: rule 'r': 'where.not' must be a non-empty mapping of conditions, got the number 1",
    ),
    "nested unknown field": (
        BASE + "  where:\n    any:\n      - not: {entry.comet: x}\n",
        "r.yaml:6:15: rule 'r': unknown field 'entry.comet' (did you mean 'entry.comment'?)",
    ),
    "unknown operator": (
        BASE + "  where: {entry.seconds: {gtee: 5}}\n",
        "r.yaml:4:27: rule 'r': unknown operator 'gtee' (did you mean 'gte'?)",
    ),
    "lt on a bool": (
        BASE + "  when: {task.reopened: {lt: true}}\n" + WHERE,
        "r.yaml:4:26: rule 'r': operator 'lt' does not apply to task.reopened (bool); it takes datetime, int",
    ),
    "matches on an int": (
        BASE + "  where: {entry.seconds: {matches: '^0'}}\n",
        "r.yaml:4:27: rule 'r': operator 'matches' does not apply to entry.seconds (int); it takes str",
    ),
    "contains on an int": (
        BASE + "  where: {entry.seconds: {contains: 5}}\n",
        "r.yaml:4:27: rule 'r': operator 'contains' does not apply to entry.seconds (int); it takes list[str], str",
    ),
    "lt on a status": (
        BASE + "  when: {task.status: {lt: completed}}\n" + WHERE,
        "r.yaml:4:24: rule 'r': operator 'lt' does not apply to task.status (status); it takes datetime, int",
    ),
    "equality on tags": (
        BASE + "  when: {task.tags: urgent}\n" + WHERE,
        "r.yaml:4:21: rule 'r': task.tags is a list; test it with an operator, e.g. {contains: ...}",
    ),
    "date compared with a number": (
        BASE + "  where: {entry.created_date: {before: 5}}\n",
        "r.yaml:4:40: rule 'r': entry.created_date before: expected an ISO-8601 date or datetime, got the number 5",
    ),
    "number compared with text": (
        BASE + "  where: {entry.seconds: 'zero'}\n",
        "r.yaml:4:26: rule 'r': entry.seconds eq: expected a whole number, got the string 'zero'",
    ),
    "text compared with a number": (
        BASE + "  where: {entry.comment: 5}\n",
        "r.yaml:4:26: rule 'r': entry.comment eq: expected a string, got the number 5",
    ),
    "bool compared with text": (
        BASE + "  when: {task.reopened: 'yes'}\n" + WHERE,
        "r.yaml:4:25: rule 'r': task.reopened eq: expected true or false, got the string 'yes'",
    ),
    "list without operator": (
        BASE + "  where: {entry.user_id: [1, 2]}\n",
        "r.yaml:4:26: rule 'r': entry.user_id: a list needs an operator, e.g. {in: [...]}",
    ),
    "no operators": (
        BASE + "  where: {entry.seconds: {}}\n",
        "r.yaml:4:26: rule 'r': entry.seconds: needs at least one operator",
    ),
    "bad regex": (
        BASE + "  where: {entry.comment: {matches: '(unclosed'}}\n",
        "r.yaml:4:36: rule 'r': entry.comment matches: bad regular expression for RE2: missing ): (unclosed",
    ),
    "backreference (RE2 cannot run it)": (
        BASE + "  where: {entry.comment: {matches: '(a)\\1'}}\n",
        "r.yaml:4:36: rule 'r': entry.comment matches: bad regular expression for RE2: "
        "invalid escape sequence: \\1 (RE2 has no backreferences)",
    ),
    "lookahead (RE2 cannot run it)": (
        BASE + "  where: {entry.comment: {matches: 'a(?=b)'}}\n",
        "r.yaml:4:36: rule 'r': entry.comment matches: bad regular expression for RE2: "
        "invalid perl operator: (?= (RE2 has no lookahead or lookbehind)",
    ),
    "regex too long": (
        BASE + "  where: {entry.comment: {matches: '" + "a" * 1001 + "'}}\n",
        "r.yaml:4:36: rule 'r': entry.comment matches: bad regular expression for RE2: "
        "longer than 1000 characters",
    ),
    "regex not text": (
        BASE + "  where: {entry.comment: {matches: 5}}\n",
        "r.yaml:4:36: rule 'r': entry.comment matches: expected a regular expression, got the number 5",
    ),
    "bad duration": (
        BASE + "  where: {entry.created_date: {older_than: 7 days}}\n",
        "r.yaml:4:44: rule 'r': entry.created_date older_than: bad duration '7 days': "
        "use a number with s, m, h, d or w (e.g. 90s, 15m, 7d)",
    ),
    "duration as a list": (
        BASE + "  where: {entry.created_date: {newer_than: [1]}}\n",
        "r.yaml:4:44: rule 'r': entry.created_date newer_than: expected a duration such as 90s, 15m, 2h, 7d, 2w, "
        "got a list",
    ),
    "unknown status name": (
        BASE + "  when: {task.status: complete}\n" + WHERE,
        "r.yaml:4:23: rule 'r': task.status eq: unknown status 'complete' (did you mean 'completed'?); "
        "use one of pending, in_progress, awaiting_review, completed, deferred or 2-6",
    ),
    "status number out of range": (
        BASE + "  when: {task.previous_status: {in: [5, 7]}}\n" + WHERE,
        "r.yaml:4:41: rule 'r': task.previous_status in: expected a status (pending, in_progress, "
        "awaiting_review, completed, deferred or 2-6), got the number 7",
    ),
    "reference to an unknown field": (
        BASE + "  where: {entry.created_date: {before: $task.reopend_at}}\n",
        "r.yaml:4:40: rule 'r': entry.created_date before: unknown field in reference '$task.reopend_at' "
        "(did you mean 'task.reopened_at'?)",
    ),
    "reference of another type": (
        BASE + "  where: {entry.created_date: {before: $task.title}}\n",
        "r.yaml:4:40: rule 'r': entry.created_date before: '$task.title' is str, but this needs datetime",
    ),
    "status reference to an int": (
        BASE + "  when: {task.status: $task.id}\n" + WHERE,
        "r.yaml:4:23: rule 'r': task.status eq: '$task.id' is int, but this needs status",
    ),
    "entry reference in when": (
        BASE + "  when: {task.closed_date: {after: $entry.created_date}}\n" + WHERE,
        "r.yaml:4:36: rule 'r': task.closed_date after: reference '$entry.created_date' is not available in 'when'",
    ),
    "between of three": (
        BASE + "  where: {entry.seconds: {between: [1, 2, 3]}}\n",
        "r.yaml:4:36: rule 'r': entry.seconds between: expected [low, high], got a list of 3",
    ),
    "between reversed": (
        BASE + "  where: {entry.seconds: {between: [5, 1]}}\n",
        "r.yaml:4:36: rule 'r': entry.seconds between: the low bound is greater than the high bound",
    ),
    "in with a scalar": (
        BASE + "  where: {entry.user_id: {in: 5}}\n",
        "r.yaml:4:31: rule 'r': entry.user_id in: expected a list of values of the field's type, got the number 5",
    ),
    "in with a bad element": (
        BASE + "  where: {entry.user_id: {not_in: [1, x]}}\n",
        "r.yaml:4:39: rule 'r': entry.user_id not_in: expected a whole number, got the string 'x'",
    ),
    "exists with text": (
        BASE + "  where: {entry.comment: {exists: yes please}}\n",
        "r.yaml:4:35: rule 'r': entry.comment exists: expected true or false, got the string 'yes please'",
    ),
    "null value": (
        BASE + "  where: {entry.comment: null}\n",
        "r.yaml:4:26: rule 'r': entry.comment eq: empty value; to test for a missing value use {exists: false}",
    ),
    "datetime without offset": (
        BASE + "  where: {entry.created_date: {before: '2025-01-01T10:00:00'}}\n",
        "r.yaml:4:40: rule 'r': entry.created_date before: datetime '2025-01-01T10:00:00' needs a UTC offset, "
        "e.g. 2025-01-01T10:00:00+00:00",
    ),
    "operator value is a mapping": (
        BASE + "  where: {entry.seconds: {eq: {a: 1}}}\n",
        "r.yaml:4:31: rule 'r': entry.seconds eq: expected a value of the field's type, got a mapping",
    ),
    "duplicate name in one file": (
        BASE + WHERE + BASE + WHERE,
        "r.yaml:5:9: rule 'r': duplicate rule name (first defined at r.yaml:1:9)",
    ),
    "duplicate field in a condition": (
        BASE + "  where: {entry.seconds: 0, entry.seconds: 1}\n",
        "r.yaml:4:29: rule 'r': duplicate key 'entry.seconds'",
    ),
    "duplicate operator": (
        BASE + "  where: {entry.seconds: {gt: 1, gt: 5}}\n",
        "r.yaml:4:34: rule 'r': duplicate key 'gt'",
    ),
    "tests not a list": (
        BASE + WHERE + "  tests: nope\n",
        "r.yaml:5:10: rule 'r': tests must be a list, got the string 'nope'",
    ),
}


@pytest.mark.parametrize("case", ERRORS)
def test_each_error_fires_with_message_and_position(case: str) -> None:
    text, expected = ERRORS[case]
    result = load_ruleset({"r.yaml": text})
    assert [str(problem) for problem in result.problems] == [expected]
    assert result.ruleset is None


def test_inline_test_errors_all_reported_with_positions() -> None:
    text = (
        BASE
        + "  where: {entry.created_date: {older_than: 7d}}\n"
        + (
            "  tests:\n"
            "    - event: ONTASKUPDTE\n"
            "      tsk: {}\n"
            "      task: {stats: pending, status: done, tags: [1]}\n"
            "      entries:\n"
            "        - {seconds: 1}\n"
            "        - {id: 2}\n"
            "        - {id: 2}\n"
            "        - 7\n"
            "      deletes: [3, x]\n"
            "    - 5\n"
            "    - name: x\n"
            "      now: yesterday\n"
            "      entries: 4\n"
            "      task: [1]\n"
            "    - {name: y, now: 2025-01-01, deletes: 1, task: {title: [a]}}\n"
            "    - {name: z, now: 2025-01-01, deletes: [], name: w}\n"
        )
    )
    assert problems(text) == [
        "r.yaml:6:7: rule 'r': test is missing 'name'",
        "r.yaml:6:7: rule 'r': this rule uses older_than/newer_than: give the test a 'now'",
        "r.yaml:6:14: rule 'r': unknown event 'ONTASKUPDTE' (did you mean 'ONTASKUPDATE'?)",
        "r.yaml:7:7: rule 'r': unknown test key 'tsk' (did you mean 'task'?)",
        "r.yaml:8:14: rule 'r': unknown task field 'stats' (did you mean 'status'?)",
        "r.yaml:8:38: rule 'r': task.status: unknown status 'done'; use one of pending, in_progress, "
        "awaiting_review, completed, deferred or 2-6",
        "r.yaml:8:50: rule 'r': task.tags: expected a list of tag names, got a list",
        "r.yaml:10:11: rule 'r': test entry is missing 'id'",
        "r.yaml:12:11: rule 'r': duplicate entry id 2",
        "r.yaml:13:11: rule 'r': expected a mapping of entry fields, got the number 7",
        "r.yaml:14:17: rule 'r': deletes: the number 3 is not the id of an entry of this test",
        "r.yaml:14:20: rule 'r': deletes: the string 'x' is not the id of an entry of this test",
        "r.yaml:15:7: rule 'r': a test must be a mapping with name, entries and deletes, got the number 5",
        "r.yaml:16:7: rule 'r': test is missing 'deletes' (the entry ids this rule should select; [] for none)",
        "r.yaml:17:12: rule 'r': now: expected an ISO-8601 date or datetime, got the string 'yesterday'",
        "r.yaml:18:16: rule 'r': entries must be a list, got the number 4",
        "r.yaml:19:13: rule 'r': expected a mapping of task fields, got a list",
        "r.yaml:20:43: rule 'r': deletes must be a list of entry ids, got the number 1",
        "r.yaml:20:60: rule 'r': task.title: expected a single value, got a list",
        "r.yaml:21:47: rule 'r': duplicate test key 'name'",
    ]


def test_every_problem_reported_at_once_sorted_across_files() -> None:
    files = {
        "b.yaml": BASE + "  where: {entry.second: 0}\n  mode: shadw\n",
        "a.yaml": "- name: [\n",
        "c.yaml": "- name: x\n  on: ONTASKUPDTE\n  acton: delete\n",
    }
    result = load_ruleset(files)
    assert [(p.file, p.line, p.col) for p in result.problems] == [
        ("a.yaml", 2, 1),
        ("b.yaml", 4, 11),
        ("b.yaml", 5, 9),
        ("c.yaml", 1, 3),
        ("c.yaml", 2, 7),
        ("c.yaml", 3, 3),
    ]
    assert result.ruleset is None


def test_duplicate_names_across_files_point_at_the_first() -> None:
    result = load_ruleset({"b.yaml": BASE + WHERE, "a.yaml": "# first\n" + BASE + WHERE})
    assert [str(p) for p in result.problems] == [
        "b.yaml:1:9: rule 'r': duplicate rule name (first defined at a.yaml:2:9)"
    ]


def test_duplicate_name_found_even_when_the_rule_has_other_problems() -> None:
    result = load_ruleset({"a.yaml": BASE + WHERE, "b.yaml": BASE + "  where: {entry.x: 1}\n"})
    assert "b.yaml:1:9: rule 'r': duplicate rule name (first defined at a.yaml:1:9)" in [
        str(p) for p in result.problems
    ]


def test_problem_str_without_rule() -> None:
    assert str(Problem("f.yaml", 3, 7, None, "boom")) == "f.yaml:3:7: boom"
    assert str(Problem("f.yaml", 3, 7, "x", "boom")) == "f.yaml:3:7: rule 'x': boom"


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "[]\n"])
def test_empty_files_make_an_empty_valid_ruleset(text: str) -> None:
    result = load_ruleset({"r.yaml": text})
    assert result.problems == ()
    assert result.ruleset is not None
    assert result.ruleset.rules == ()


def test_no_files_is_an_empty_ruleset() -> None:
    result = load_ruleset({})
    assert result.ok
    assert result.ruleset is not None
    assert result.ruleset.rules == ()


def test_valid_rule_loads_with_defaults_and_position() -> None:
    text = "# header\n- name: zero\n  on: ontaskupdate\n  action: delete\n" + WHERE
    result = load_ruleset({"rules/z.yaml": text})
    assert result.ok
    assert result.ruleset is not None
    (rule,) = result.ruleset.rules
    assert (rule.name, rule.on, rule.mode, rule.enabled, rule.limit, rule.action) == (
        "zero",
        frozenset({"ONTASKUPDATE"}),
        "enforce",
        True,
        None,
        "delete",
    )
    assert (rule.file, rule.line, rule.col, rule.description, rule.when) == ("rules/z.yaml", 2, 3, "", None)
    assert result.ruleset.files == ("rules/z.yaml",)


def test_all_rule_keys_load() -> None:
    text = (
        "- name: full-rule-1\n  description: every key\n  on: [ONTASKADD, ONTASKUPDATE]\n"
        "  when: {task.status: completed}\n" + WHERE + "  action: delete\n  mode: shadow\n  enabled: false\n"
        "  limit: 3\n  tests: []\n"
    )
    result = load_ruleset({"r.yaml": text})
    assert result.ok, result.problems
    assert result.ruleset is not None
    rule = result.ruleset.rules[0]
    assert (rule.mode, rule.enabled, rule.limit, rule.description) == ("shadow", False, 3, "every key")


def test_dollar_dollar_is_a_literal_dollar() -> None:
    result = load_ruleset({"r.yaml": BASE + "  where: {entry.comment: $$cash}\n"})
    assert result.ok
    assert result.ruleset is not None
    leaf = result.ruleset.rules[0].where
    assert getattr(leaf, "expected", None) == "$cash"


def test_the_same_files_give_the_same_version_and_a_change_changes_it() -> None:
    first = load_ruleset({"r.yaml": BASE + WHERE}).ruleset
    again = load_ruleset({"r.yaml": BASE + WHERE}).ruleset
    changed = load_ruleset({"r.yaml": BASE + WHERE + "# note\n"}).ruleset
    assert first is not None
    assert again is not None
    assert changed is not None
    assert first.version == again.version != changed.version
    assert len(first.version) == 12


def test_yaml_1_1_booleans_stay_text_where_text_is_meant() -> None:
    # `on:` as a key and `off`/`yes` as names would be booleans to a plain YAML 1.1 load.
    result = load_ruleset({"r.yaml": "- name: off\n  on: ontaskupdate\n  action: delete\n" + WHERE})
    assert result.ok, result.problems
    assert result.ruleset is not None
    assert result.ruleset.rules[0].name == "off"


def test_name_that_is_not_text() -> None:
    assert problems("- name: [a]\n  on: ONTASKUPDATE\n  action: delete\n" + WHERE) == [
        "r.yaml:1:9: name must be lower-case letters, digits and '-', got a list"
    ]
    assert problems("- name:\n  on: ONTASKUPDATE\n  action: delete\n" + WHERE) == [
        "r.yaml:1:8: name must be lower-case letters, digits and '-', got an empty value"
    ]


def test_closed_text_facts_check_their_values() -> None:
    assert problems(BASE + "  when: {event.source: swep}\n" + WHERE) == [
        "r.yaml:4:24: rule 'r': event.source eq: unknown value 'swep' (did you mean 'sweep'?); use one of: event, sweep, replay"
    ]
    assert problems(BASE + "  when: {event.name: {in: [ontaskadd, ONTASKUPDTE]}}\n" + WHERE) == [
        "r.yaml:4:39: rule 'r': event.name in: unknown value 'ONTASKUPDTE' (did you mean 'ONTASKUPDATE'?); "
        "use one of: ONTASKADD, ONTASKUPDATE, ONTASKDELETE"
    ]
    result = load_ruleset(
        {"r.yaml": BASE + "  when: {event.name: ontaskupdate, event.source: {ne: replay}}\n" + WHERE}
    )
    assert result.ok


def test_recursive_alias_is_a_problem_not_a_crash() -> None:
    assert problems("&a [*a]\n") == ["r.yaml:1:1: YAML error: line 1: an anchor is used inside itself"]


def test_a_character_yaml_refuses_is_one_line_at_its_position() -> None:
    # PyYAML's own message adds a second line ('  in "<unicode string>", position 27').
    assert problems("- name: r\n  on: ONTASKUPDATE\n  x: a\x00b\n") == [
        "r.yaml:3:7: YAML error: unacceptable character #x0000: special characters are not allowed"
    ]


def test_aliases_are_shared_not_copied() -> None:
    # Nine levels of ten aliases would be 10**9 nodes if each alias were copied.
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]" for i in range(1, 10)]
    text = (
        "- name: r\n  on: ONTASKUPDATE\n  action: delete\n"
        + WHERE
        + "  description: {"
        + ", ".join(lines)
        + "}\n"
    )
    assert problems(text) == ["r.yaml:5:16: rule 'r': description must be text, got a mapping"]
