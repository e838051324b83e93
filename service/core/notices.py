"""From a round's deletions to the messages owed to people (pure): one notification per person per task,
one comment per task.

Every deleted entry of a rule with `notify` is rendered through the rule's message; the lines for one
person on one task are joined into one message, so three entries make one message naming all three,
not three messages. A task comment is read by everyone on the task, so whoever `to` names, the task gets
one comment with every line (`to: [author, responsible]` would otherwise post the same text twice); its
record names no single person (`TASK_COMMENT`). Entries that were only recorded (shadow mode, dry-run)
make the same messages, marked `would`: they are recorded, never sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from service.core.bitrix.calls import Call
from service.core.bitrix.messages import comment_add, system_notify
from service.core.facts import entry_facts, task_facts
from service.core.rules import Rule

TASK_COMMENT = 0  # the recipient of a comment: the task's comment thread, not one person


@dataclass(frozen=True)
class Notable:
    """One entry a rule deleted (or, `would`, only recorded), with the task it belonged to."""

    rule: Rule
    task: Mapping[str, object]  # the task as read (tasks.task.get shape)
    entry: Mapping[str, object]  # the entry as read (task.elapseditem.getlist shape)
    would: bool


@dataclass
class Notice:
    task_id: int
    recipient: int
    via: str  # comment | notification
    would: bool  # True: shadow or dry-run, recorded and never sent
    lines: list[str] = field(default_factory=list)
    item_ids: list[int] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def call(self) -> Call:
        """The REST call that delivers it."""
        if self.via == "comment":
            return comment_add(self.task_id, self.text)
        return system_notify(self.recipient, self.text)


def plan_notices(notables: Sequence[Notable]) -> list[Notice]:
    """The messages owed for `notables`, grouped per (task, person, channel, sent-or-would)."""
    notices: dict[tuple[int, int, str, bool], Notice] = {}
    for item in notables:
        notify = item.rule.notify
        if notify is None:
            continue
        facts = {**task_facts(item.task), **entry_facts(item.entry)}
        facts.update({"rule.name": item.rule.name, "rule.description": item.rule.description})
        task_id, entry_id = facts.get("task.id"), facts.get("entry.id")
        if not isinstance(task_id, int) or not isinstance(entry_id, int):
            continue
        line = notify.message.render(facts)
        people = notify.recipients(facts)
        if notify.via == "comment":
            people = [TASK_COMMENT] if people else []
        for person in people:
            key = (task_id, person, notify.via, item.would)
            notice = notices.setdefault(key, Notice(task_id, person, notify.via, item.would))
            _add(notice, line, entry_id, item.rule.name)
    for notice in notices.values():
        _name_entries(notice, notables)
    return list(notices.values())


def _add(notice: Notice, line: str, entry_id: int, rule: str) -> None:
    if line not in notice.lines:
        notice.lines.append(line)
    if entry_id not in notice.item_ids:
        notice.item_ids.append(entry_id)
    if rule not in notice.rules:
        notice.rules.append(rule)


def _name_entries(notice: Notice, notables: Sequence[Notable]) -> None:
    """A message that names no entry of its own gets them listed, so the reader knows which ones went."""
    templates = {n.rule.notify.message for n in notables if n.rule.name in notice.rules and n.rule.notify}
    if not any(template.names_an_entry() for template in templates):
        notice.lines.append("Entries: " + ", ".join(f"#{item}" for item in notice.item_ids))
