"""What `simulate` prints for a plan: each rule under its own mode, over-limit selections held back."""

from __future__ import annotations

from datetime import UTC, datetime

from service.core.engine import EventInput, evaluate
from service.core.explain import explain
from service.core.loader import load_ruleset
from service.core.transitions import NO_TRANSITION

NOW = datetime(2025, 9, 27, 12, tzinfo=UTC)
TASK = {"id": "691", "status": "2", "title": "Fix login"}
ENTRIES = [
    {"ID": str(item), "TASK_ID": "691", "SECONDS": "0", "USER_ID": "7", "CREATED_DATE": "2025-09-27"}
    for item in (1, 2)
]
RULES = """
- name: capped
  on: [ONTASKUPDATE]
  action: delete
  mode: shadow
  limit: 1
  where: {entry.seconds: 0}
- name: zero
  on: [ONTASKUPDATE]
  action: delete
  where: {entry.id: 2}
"""


def report() -> str:
    rules = load_ruleset({"r.yaml": RULES}).ruleset
    assert rules is not None
    event = EventInput("ONTASKUPDATE", NOW, "acme.bitrix24.com", "m1", "event")
    plan = evaluate(rules, event=event, task=TASK, entries=ENTRIES, transition=NO_TRANSITION, now=NOW)
    return explain([plan], task=TASK, entries=ENTRIES, transition=NO_TRANSITION)


def test_a_rule_over_its_limit_is_shown_in_its_own_mode_with_its_selection_held_back() -> None:
    text = report()

    assert "rule capped [shadow]: applies; selects 2 of 2 entries, more than its limit" in text
    assert "entry 1 (0 s by user 7, created 2025-09-27): selected, but the rule is over its limit" in text
    assert "  held back (rule over its limit) 1: entry 1 by capped" in text


def test_the_summary_counts_an_entry_once_under_the_rule_that_wins_it() -> None:
    text = report()

    assert "  would delete 1: entry 2 by zero" in text
    # capped is in shadow, but over its limit: held back, not recorded as shadow
    assert "would be recorded only (rule is in shadow mode) 1" not in text
