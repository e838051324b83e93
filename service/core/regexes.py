"""The regexes of `matches`, on RE2: time linear in the text's length whatever the pattern.

Python's `re` backtracks: `^(a+)+$` against forty `a` and a `!` runs for hours and pins a worker (the
next worker takes the task when the lease runs out, and stalls too). RE2 never backtracks, so no rule
can hold a worker; the price is a syntax without backreferences and lookaround, which `check` reports
at the pattern's file:line:col (https://github.com/google/re2/wiki/Syntax).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import re2

# A pattern is a line of a rule, not a program: longer ones are refused, so compiling and matching
# stay small whatever a rule file holds (RE2's own budget, max_mem, bounds the compiled program too).
MAX_PATTERN_CHARS = 1000


class RegexError(ValueError):
    """The pattern cannot run on RE2; `str(error)` says why in one line."""


@dataclass(frozen=True)
class Regex:
    """A compiled `matches` pattern; `search` finds it anywhere in the text (anchor with ^…$)."""

    pattern: str
    _compiled: Any = field(repr=False, compare=False)

    def search(self, text: str) -> bool:
        return self._compiled.search(text) is not None


def compile_regex(pattern: str) -> Regex:
    """Compile `pattern` for RE2, or raise RegexError naming what RE2 cannot run."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise RegexError(f"longer than {MAX_PATTERN_CHARS} characters")
    options = re2.Options()
    options.log_errors = False  # RE2 would write every refused pattern to stderr itself
    try:
        return Regex(pattern, re2.compile(pattern, options))
    except re2.error as error:
        raise RegexError(_reason(error)) from None


def _reason(error: Exception) -> str:
    raw = error.args[0] if error.args else b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    reason = text.splitlines()[0] if text else "not a valid pattern"
    if "invalid perl operator: (?=" in reason or "(?!" in reason or "(?<" in reason:
        return f"{reason} (RE2 has no lookahead or lookbehind)"
    if any(f"escape sequence: \\{digit}" in reason for digit in "123456789"):
        return f"{reason} (RE2 has no backreferences)"
    return reason
