"""YAML values that remember where they were written, and the problems reported against those places.

The loader turns PyYAML nodes into `Node`s (1-based line and column on every key and value) so that
conditions and inline tests can be checked without importing YAML and every problem can name its place.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Node:
    """One YAML value: a scalar (`kind == "scalar"`), a sequence (`items`) or a mapping (`pairs`)."""

    kind: str
    line: int
    col: int
    scalar: object = None
    text: str = ""  # a scalar's source text, before YAML typed it
    items: tuple[Node, ...] = ()
    # Keys stay nodes (raw text, never YAML-1.1-resolved: `on:` must stay "on", not True), in order,
    # duplicates included so that the loader can report them.
    pairs: tuple[tuple[Node, Node], ...] = ()
    # A one-line scalar whose source spells its value out character for character (plain, or quoted
    # without escapes): how many columns after `col` the value begins (0, or 1 after a quote); else None.
    verbatim: int | None = None

    def at(self, offset: int) -> Node:
        """This scalar, positioned at its `offset`-th character where the source allows (else its start)."""
        if self.verbatim is None:
            return self
        return replace(self, col=self.col + self.verbatim + offset)

    @property
    def key_text(self) -> str:
        """A mapping key as written: YAML 1.1 would read the key `on` as the boolean true."""
        return self.text if self.kind == "scalar" else ""

    def describe(self) -> str:
        """What the value is, for messages: 'a list', "the string 'x'", 'the number 3'."""
        if self.kind == "seq":
            return "a list"
        if self.kind == "map":
            return "a mapping"
        return describe_value(self.scalar)

    def shown(self) -> str:
        """A scalar as quoted text ('ONTASKUPDTE'), anything else described (the number 5)."""
        return quote(self.scalar) if isinstance(self.scalar, str) else self.describe()


def describe_value(value: object) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"the string {quote(value) if isinstance(value, str) else repr(value)}"


# How much of a value a problem may quote: a problem is shown in /readyz, logs and Sentry, so it quotes
# at most the start of the offending line, never the rest of a file (a multi-line scalar, or a file
# that is not YAML at all and parses as one long string).
QUOTE_CHARS = 60


def quote(text: str) -> str:
    """`text` quoted for a problem: its first line only, cut at QUOTE_CHARS, marked when cut."""
    first = text.split("\n", 1)[0].split("\r", 1)[0]
    cut = first[:QUOTE_CHARS]
    return repr(cut) + ("…" if cut != text else "")


@dataclass(frozen=True)
class Problem:
    """A mistake in a rule file. `str()` is `file:line:col: rule 'name': message` (1-based positions)."""

    file: str
    line: int
    col: int
    rule: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}: "
        return where + (f"rule {self.rule!r}: " if self.rule else "") + self.message

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.col, self.message)


@dataclass
class Reporter:
    """Collects problems for one file (and, via `for_rule`, one rule) without stopping at the first."""

    file: str
    rule: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def error(self, node: Node, message: str) -> None:
        self.problems.append(Problem(self.file, node.line, node.col, self.rule, message))

    def for_rule(self, name: str | None) -> Reporter:
        # Shares the list: problems from every rule end up in one place.
        return Reporter(self.file, name, self.problems)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def keyed(node: Node, allowed: Iterable[str], what: str, report: Reporter) -> dict[str, Node]:
    """A mapping's values by key; duplicate and unknown keys (with a did-you-mean) are reported."""
    choices = tuple(allowed)
    keys: dict[str, Node] = {}
    for key, value in node.pairs:
        text = key.key_text
        if text in keys:
            report.error(key, f"duplicate {what} {quote(text)}")
        elif text not in choices:
            report.error(key, f"unknown {what} {quote(text)}{did_you_mean(text, choices)}")
        else:
            keys[text] = value
    return keys
