"""`notify:` in a rule: checked at load with positions and suggestions; one message per person per task."""

from __future__ import annotations

from service.core.loader import load_ruleset
from service.core.notices import TASK_COMMENT, Notable, plan_notices
from service.core.rules import Rule

RULE = """\
- name: drop-short
  description: Timer slips.
  on: [ONTASKUPDATE]
  where: {entry.seconds: {lt: 60}}
  action: delete
  notify:
NOTIFY"""
GOOD = """\
    to: [author, responsible, 7]
    via: notification
    message: "{entry.seconds} s on {entry.created_date:%d.%m} ({task.title}) by {rule.name}"
"""
TASK = {"id": "5", "title": "Build", "responsibleId": "9", "status": "3"}


def load(notify: str) -> tuple[Rule | None, list[str]]:
    result = load_ruleset({"r.yaml": RULE.replace("NOTIFY", notify)})
    return (result.ruleset.rules[0] if result.ruleset else None), [str(p) for p in result.problems]


def entry(item: int, seconds: int, user: int) -> dict[str, str]:
    created = "2026-03-04T10:00:00+03:00"
    return {
        "ID": str(item),
        "TASK_ID": "5",
        "USER_ID": str(user),
        "SECONDS": str(seconds),
        "CREATED_DATE": created,
    }


def test_a_good_notify_loads_and_asks_for_the_facts_it_names() -> None:
    rule, problems = load(GOOD)
    assert problems == []
    assert rule is not None
    assert rule.notify is not None
    assert rule.notify.to == ("author", "responsible", 7)
    assert {"task.title", "task.responsible_id", "entry.user_id"} <= rule.fields()


def test_every_mistake_is_reported_with_its_position_and_a_suggestion() -> None:
    _, problems = load(
        '    to: [auther]\n    via: coment\n    message: "{entry.secnds} {entry.seconds:%Q} {task.title!r}"\n'
    )
    assert problems == [
        "r.yaml:7:10: rule 'drop-short': unknown recipient 'auther' (did you mean 'author'?); "
        "use author, responsible or a user id",
        "r.yaml:8:10: rule 'drop-short': unknown notify via 'coment' (did you mean 'comment'?); "
        "use one of: comment, notification",
        # Each placeholder's own column inside the message (the quote is at 14).
        "r.yaml:9:15: rule 'drop-short': notify message: unknown placeholder {entry.secnds} "
        "(did you mean 'entry.seconds'?)",
        "r.yaml:9:30: rule 'drop-short': notify message: {entry.seconds:%Q}: bad format: "
        "Invalid format specifier '%Q' for object of type 'int'",
        "r.yaml:9:49: rule 'drop-short': notify message: {task.title}: write a format after ':', "
        "not '!' or nested braces",
    ]
    # Literal braces written doubled count as written; a plain (unquoted) message has no quote to skip.
    _, braces = load("    to: [author]\n    message: see {{x}} {rule.nam}\n")
    assert braces == ["r.yaml:8:24: rule 'drop-short': notify message: unknown placeholder {rule.nam} "
                      "(did you mean 'rule.name'?)"]  # fmt: skip
    # An escape in a double-quoted message: the source no longer matches the text; the message's start.
    _, escaped = load('    to: [author]\n    message: "a\\tb {rule.nam}"\n')
    assert [p.split(": rule")[0] for p in escaped] == ["r.yaml:8:14"]
    _, missing = load("    via: comment\n")
    assert missing == [
        "r.yaml:7:5: rule 'drop-short': notify is missing 'message'",
        "r.yaml:7:5: rule 'drop-short': notify is missing 'to' (author, responsible or user ids)",
    ]


def test_one_message_per_person_per_task_naming_each_entry() -> None:
    rule, _ = load(GOOD)
    assert rule is not None
    items = [
        Notable(rule, TASK, entry(i, s, u), would=False) for i, s, u in ((1, 10, 3), (2, 20, 3), (3, 0, 4))
    ]
    notices = {n.recipient: n for n in plan_notices(items)}
    assert sorted(notices) == [3, 4, 7, 9]  # two authors, the responsible person, user 7
    assert notices[3].lines == ["10 s on 04.03 (Build) by drop-short", "20 s on 04.03 (Build) by drop-short"]
    assert notices[3].item_ids == [1, 2]
    assert notices[9].item_ids == notices[7].item_ids == [1, 2, 3]
    assert notices[3].call().method == "im.notify.system.add"


def test_a_message_that_names_no_entry_lists_them() -> None:
    rule, _ = load("    to: [responsible]\n    message: Rule {rule.name} removed time on this task.\n")
    assert rule is not None
    items = [Notable(rule, TASK, entry(i, 5, 3), would=True) for i in (1, 2)]
    [notice] = plan_notices(items)
    assert notice.would
    assert notice.lines == ["Rule drop-short removed time on this task.", "Entries: #1, #2"]
    assert notice.call().method == "task.commentitem.add"


def test_a_task_gets_one_comment_whoever_it_is_for() -> None:
    """Everyone on the task reads its comments: author and responsible get one comment, not one each."""
    rule, _ = load(GOOD.replace("via: notification", "via: comment"))
    assert rule is not None
    items = [Notable(rule, TASK, entry(i, s, u), would=False) for i, s, u in ((1, 10, 3), (2, 20, 4))]
    [notice] = plan_notices(items)
    assert (notice.recipient, notice.item_ids) == (TASK_COMMENT, [1, 2])
    assert notice.lines == ["10 s on 04.03 (Build) by drop-short", "20 s on 04.03 (Build) by drop-short"]
    assert notice.call().method == "task.commentitem.add"
