"""A deterministic rule set and task for the evaluation benchmark (and its smoke test).

The rules mix what rule files use: equality, ranges, lists, regexes, substrings, relative dates,
`$references`, `any`/`not`, and a `when` on the task; each selects a small share of the entries, as
rules do in practice (a rule selecting every entry would trip its limit).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from service.core.loader import load_ruleset
from service.core.rules import RuleSet

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TASK_ID = 4242
TASK = {
    "id": str(TASK_ID), "status": "3", "title": "Quarterly report", "responsibleId": "7",
    "createdBy": "3", "groupId": "12", "changedDate": "2026-05-30T10:00:00+00:00",
    "tags": {"1": {"id": "1", "title": "billing"}},
}  # fmt: skip

# `{n}` is the rule's number: every rule differs a little, as a real rule set's rules do.
WHERES = (
    "all: [{{entry.seconds: 0}}, {{entry.user_id: {n}}}]",
    "all: [{{entry.user_id: {{in: [{n}, 201, 202]}}}}, {{entry.seconds: {{gt: 60}}}}]",
    'entry.comment: {{matches: "^timer {n}\\b"}}',
    "all: [{{entry.created_date: {{newer_than: {n}h}}}}, {{entry.seconds: {{lt: 30}}}}]",
    'any: [{{entry.seconds: {k}}}, {{entry.comment: {{contains: "slip {n}"}}}}]',
    "all: [{{not: {{entry.user_id: $task.responsible_id}}}}, {{entry.minutes: {{between: [{k}, {m}]}}}}]",
    "all: [{{entry.date_start: {{before: 2025-05-{d:02d}}}}}, {{entry.source: 2}}, {{entry.seconds: 5}}]",
    "all: [{{entry.user_id: {n}}}, {{task.group_id: 12}}]",
)
WHENS = (
    "",
    "  when: {{task.status: {{in: [in_progress, completed]}}}}\n",
    "  when: {{task.tags: {{contains: billing}}}}\n",
)


def rule_text(index: int) -> str:
    n = index + 1
    where = WHERES[index % len(WHERES)].format(n=n, k=n + 100, m=n + 105, d=1 + index % 28)
    when = WHENS[index % len(WHENS)].format()
    return f"- name: rule-{n}\n  on: [ONTASKUPDATE]\n  action: delete\n{when}  where: {{{where}}}\n"


def ruleset(rules: int) -> RuleSet:
    result = load_ruleset({"bench.yaml": "".join(rule_text(i) for i in range(rules))})
    if result.ruleset is None:
        raise SystemExit("\n".join(str(problem) for problem in result.problems))
    return result.ruleset


def entries(count: int, seed: int = 16) -> list[dict[str, object]]:
    """Entries as task.elapseditem.getlist returns them: UPPER_CASE keys, every value a string."""
    rng = random.Random(seed)
    made: list[dict[str, object]] = []
    for item_id in range(1, count + 1):
        seconds = rng.choice((0, 5, 45, 60, 600, 1800, 3600, rng.randrange(0, 30000)))
        created = NOW - timedelta(days=rng.randrange(0, 400), seconds=rng.randrange(86400))
        made.append({
            "ID": str(item_id), "TASK_ID": str(TASK_ID), "USER_ID": str(rng.randrange(1, 300)),
            "SECONDS": str(seconds), "MINUTES": str(seconds // 60), "SOURCE": str(rng.choice((1, 2))),
            "COMMENT_TEXT": rng.choice(("", "timer 3", "slip 999", "meeting", f"timer {rng.randrange(100)}")),
            "CREATED_DATE": created.isoformat(), "DATE_START": created.isoformat(),
            "DATE_STOP": (created + timedelta(seconds=seconds)).isoformat(),
        })  # fmt: skip
    return made
