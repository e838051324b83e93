"""A rule's `notify:` — who hears about its deletions, how, and in what words — checked at load.

```yaml
notify:
  to: [author, responsible, 17]     # the entry's author, the task's responsible person, user ids
  via: comment                      # a task comment, or `notification` (a Bitrix24 system notification)
  message: "Removed {entry.seconds} s logged on {entry.created_date:%d.%m} by rule {rule.name}"
```
Placeholders are facts (`{entry.seconds}`, `{task.title}` …) and `{rule.name}`, `{rule.description}`,
with an optional format after `:` (a strftime pattern for dates, a Python format spec otherwise). An
unknown placeholder or a bad format is a load-time problem at the message's `file:line:col`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from service.core.facts import FACT_TYPES, FactType
from service.core.positions import Node, Reporter, did_you_mean, keyed

NOTIFY_KEYS = ("to", "via", "message")
RECIPIENTS = ("author", "responsible")
CHANNELS = ("comment", "notification")
RULE_FIELDS = ("rule.name", "rule.description")
PLACEHOLDERS = (*FACT_TYPES, *RULE_FIELDS)
# A value of each type to try a format spec on, so that a bad one fails at load, not at delivery.
_SAMPLES: dict[FactType, object] = {
    FactType.INT: 0,
    FactType.STATUS: 2,
    FactType.STR: "",
    FactType.BOOL: "true",
    FactType.TAGS: "",
    FactType.DATETIME: datetime(2000, 1, 1, tzinfo=UTC),
}
_RECIPIENT_FACTS = {"author": "entry.user_id", "responsible": "task.responsible_id"}


@dataclass(frozen=True)
class Template:
    text: str
    fields: tuple[str, ...]  # placeholders used, in order

    def render(self, values: Mapping[str, object]) -> str:
        out = []
        for literal, name, spec, _ in string.Formatter().parse(self.text):
            out.append(literal)
            if name is not None:
                out.append(_show(values.get(name), spec or ""))
        return "".join(out)

    def names_an_entry(self) -> bool:
        return any(name.startswith("entry.") for name in self.fields)


@dataclass(frozen=True)
class Notify:
    to: tuple[str | int, ...]  # "author", "responsible" or user ids
    via: str  # comment | notification
    message: Template

    def fields(self) -> frozenset[str]:
        """The facts delivery needs: the placeholders and the recipients' ids."""
        used = {name for name in self.message.fields if name in FACT_TYPES}
        used.update(_RECIPIENT_FACTS[who] for who in self.to if isinstance(who, str))
        return frozenset(used)

    def recipients(self, facts: Mapping[str, object]) -> list[int]:
        """User ids to tell about one deleted entry (facts of the entry and its task)."""
        found = []
        for who in self.to:
            user = facts.get(_RECIPIENT_FACTS[who]) if isinstance(who, str) else who
            if isinstance(user, int) and user > 0 and user not in found:
                found.append(user)
        return found


def parse_notify(node: Node | None, report: Reporter) -> Notify | None:
    if node is None:
        return None
    if node.kind != "map":
        report.error(node, f"notify must be a mapping with to, via and message, got {node.describe()}")
        return None
    before = len(report.problems)
    keys = keyed(node, NOTIFY_KEYS, "notify key", report)
    to = _recipients(node, keys.get("to"), report)
    via = _via(node, keys.get("via"), report)
    message = _message(node, keys.get("message"), report)
    if len(report.problems) != before or message is None:
        return None
    return Notify(to, via, message)


def _recipients(parent: Node, node: Node | None, report: Reporter) -> tuple[str | int, ...]:
    if node is None:
        report.error(parent, f"notify is missing 'to' ({', '.join(RECIPIENTS)} or user ids)")
        return ()
    items = node.items if node.kind == "seq" else (node,)
    if not items:
        report.error(node, "notify 'to' needs at least one recipient")
    found: list[str | int] = []
    for item in items:
        if (type(item.scalar) is int and item.scalar > 0) or (
            isinstance(item.scalar, str) and item.scalar in RECIPIENTS
        ):
            found.append(item.scalar)
        else:
            hint = did_you_mean(str(item.scalar), RECIPIENTS) if isinstance(item.scalar, str) else ""
            report.error(
                item, f"unknown recipient {item.shown()}{hint}; use author, responsible or a user id"
            )
    return tuple(dict.fromkeys(found))


def _via(parent: Node, node: Node | None, report: Reporter) -> str:
    if node is None:
        return "comment"
    if isinstance(node.scalar, str) and node.scalar in CHANNELS:
        return node.scalar
    hint = did_you_mean(str(node.scalar), CHANNELS) if node.kind == "scalar" else ""
    report.error(node, f"unknown notify via {node.shown()}{hint}; use one of: {', '.join(CHANNELS)}")
    return ""


def _message(parent: Node, node: Node | None, report: Reporter) -> Template | None:
    if node is None:
        report.error(parent, "notify is missing 'message'")
        return None
    if not isinstance(node.scalar, str) or not node.scalar.strip():
        report.error(node, f"notify message must be text, got {node.describe()}")
        return None
    try:
        parts = list(string.Formatter().parse(node.scalar))
    except ValueError as error:
        report.error(node, f"notify message: {error} (write {{{{ and }}}} for literal braces)")
        return None
    fields, cursor = [], 0
    for literal, name, spec, conversion in parts:
        cursor += len(literal) + literal.count("{") + literal.count("}")  # braces were written doubled
        if name is None:
            continue
        if _placeholder(node.at(cursor), name, spec or "", conversion, report):
            fields.append(name)
        cursor += len(name) + 2 + (len(conversion) + 1 if conversion else 0) + (len(spec) + 1 if spec else 0)
    return Template(node.scalar, tuple(fields))


def _placeholder(node: Node, name: str, spec: str, conversion: str | None, report: Reporter) -> bool:
    if name not in PLACEHOLDERS:
        hint = did_you_mean(name, PLACEHOLDERS) or f" (use a fact such as {{entry.seconds}} or {RULE_FIELDS})"
        report.error(node, f"notify message: unknown placeholder {{{name}}}{hint}")
        return False
    if conversion is not None or "{" in spec:
        report.error(node, f"notify message: {{{name}}}: write a format after ':', not '!' or nested braces")
        return False
    try:
        _show(_SAMPLES[FACT_TYPES.get(name, FactType.STR)], spec)
    except (ValueError, TypeError) as error:
        report.error(node, f"notify message: {{{name}:{spec}}}: bad format: {error}")
        return False
    return True


def _show(value: object, spec: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(spec) if spec else value.isoformat(sep=" ")
    if isinstance(value, tuple):
        value = ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        value = str(value).lower()
    return format(value, spec)
