"""`matches` on RE2: a catastrophic pattern runs in linear time; what RE2 cannot run is refused with why."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from service.core.engine import EventInput, evaluate
from service.core.loader import load_ruleset
from service.core.regexes import MAX_PATTERN_CHARS, RegexError, compile_regex
from service.core.transitions import NO_TRANSITION

NOW = datetime(2025, 9, 27, 12, tzinfo=UTC)

CATASTROPHIC = "^(a+)+$"  # Python's re backtracks for hours on "a" * 40 + "!"
RULE = """\
- name: catastrophic
  on: [ONTASKUPDATE]
  where:
    entry.comment: {matches: '^(a+)+$'}
  action: delete
"""


def test_the_catastrophic_pattern_finishes_in_milliseconds_on_any_length() -> None:
    regex = compile_regex(CATASTROPHIC)
    for text in ("a" * 40 + "!", "a" * 100_000 + "!"):
        started = time.perf_counter()
        assert regex.search(text) is False
        assert time.perf_counter() - started < 0.05
    assert regex.search("a" * 40) is True


def test_a_rule_with_it_passes_check_and_evaluates_a_hostile_comment_at_once() -> None:
    result = load_ruleset({"rules/x.yaml": RULE})
    assert result.ok, result.problems
    assert result.ruleset is not None
    hostile = [{"ID": str(n), "TASK_ID": "691", "COMMENT_TEXT": "a" * n + "!"} for n in range(20, 60)]
    benign = {"ID": "99", "TASK_ID": "691", "COMMENT_TEXT": "a" * 40}
    event = EventInput("ONTASKUPDATE", NOW, "acme.bitrix24.com", "m1", "event")
    started = time.perf_counter()
    plan = evaluate(
        result.ruleset, event=event, task={"id": "691"}, entries=[*hostile, benign],
        transition=NO_TRANSITION, now=NOW,
    )  # fmt: skip
    assert time.perf_counter() - started < 0.5
    assert [deletion.item_id for deletion in plan.deletions] == [99]


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "no backreferences"),
        ("a(?=b)", "no lookahead"),
        ("a(?!b)", "no lookahead"),
        ("(?<=a)b", "no lookahead or lookbehind"),
        ("a{1001}", "invalid repetition size"),
        ("(unclosed", "missing )"),
        ("x" * (MAX_PATTERN_CHARS + 1), f"longer than {MAX_PATTERN_CHARS}"),
    ],
)
def test_what_re2_cannot_run_is_refused_with_a_one_line_reason(pattern: str, reason: str) -> None:
    with pytest.raises(RegexError, match=reason.replace("(", r"\(").replace(")", r"\)")) as caught:
        compile_regex(pattern)
    assert "\n" not in str(caught.value)


def test_search_is_anywhere_and_unicode_aware() -> None:
    assert compile_regex("b").search("abc")
    assert compile_regex("^Bär$").search("Bär")
    assert not compile_regex("^b").search("abc")
