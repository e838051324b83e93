"""YAML text → `Node`s that remember where every value was written (file:line:col for problems).

PyYAML composes the document; aliases are converted once and shared (no "billion laughs" copies), an
anchor used inside itself is a problem, dates stay text, and a scalar written out verbatim remembers
where its characters begin so that a problem can point inside it (`Node.at`).
"""

from __future__ import annotations

import yaml

from service.core.positions import Node, Problem, Reporter


def parse_yaml(text: str, report: Reporter) -> Node | None:
    """The document's root as a `Node`; None for an empty file or after reporting a syntax error."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = ", ".join(part for part in (error.context, error.problem) if part) or "invalid YAML"
        report.problems.append(Problem(report.file, line, col, None, f"YAML syntax error: {problem}"))
        return None
    except yaml.reader.ReaderError as error:
        # Its own text adds a second line ('in "<unicode string>", position N'): say where, in one line.
        line, col = _line_col(text, error.position)
        reason = f"unacceptable character #x{error.character:04X}: {error.reason}"
        report.problems.append(Problem(report.file, line, col, None, f"YAML error: {reason}"))
        return None
    except yaml.YAMLError as error:
        report.problems.append(Problem(report.file, 1, 1, None, f"YAML error: {error}"))
        return None
    if root is None:
        return None
    try:
        return to_node(root, yaml.constructor.SafeConstructor())
    except _RecursiveAlias as error:
        report.problems.append(
            Problem(report.file, root.start_mark.line + 1, 1, None, f"YAML error: {error}")
        )
        return None


def _line_col(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of the character at `position` in `text`."""
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1


class _RecursiveAlias(ValueError):
    """An anchor used inside itself (`&a [*a]`): no finite rule can come out of it."""


def to_node(raw: yaml.Node, build: yaml.constructor.SafeConstructor) -> Node:
    return _convert(raw, build, {}, set())


def _convert(
    raw: yaml.Node, build: yaml.constructor.SafeConstructor, done: dict[int, Node], open_: set[int]
) -> Node:
    # Aliases share one converted node (no exponential "billion laughs" copies); a cycle is an error.
    key = id(raw)
    if key in done:
        return done[key]
    if key in open_:
        raise _RecursiveAlias(f"line {raw.start_mark.line + 1}: an anchor is used inside itself")
    open_.add(key)
    line, col = raw.start_mark.line + 1, raw.start_mark.column + 1
    if isinstance(raw, yaml.MappingNode):
        pairs = tuple(
            (_convert(k, build, done, open_), _convert(v, build, done, open_)) for k, v in raw.value
        )
        node = Node("map", line, col, pairs=pairs)
    elif isinstance(raw, yaml.SequenceNode):
        node = Node("seq", line, col, items=tuple(_convert(item, build, done, open_) for item in raw.value))
    else:
        scalar = _scalar(raw, build)
        node = Node("scalar", line, col, scalar=scalar, text=str(raw.value), verbatim=_verbatim(raw))
    open_.discard(key)
    done[key] = node
    return node


def _verbatim(raw: yaml.Node) -> int | None:
    """Where a one-line plain or quoted scalar's value starts after its mark, when its source text is
    the value itself (no escapes, no folding): problems can then point inside it (`Node.at`)."""
    start, end = raw.start_mark, raw.end_mark
    buffer, style = start.buffer, getattr(raw, "style", None)
    if not isinstance(buffer, str) or start.line != end.line or style not in (None, "'", '"'):
        return None
    source = buffer[start.pointer : end.pointer]
    inner = source[1:-1] if style else source
    if inner != raw.value:
        return None
    return 1 if style else 0


def _scalar(raw: yaml.Node, build: yaml.constructor.SafeConstructor) -> object:
    # Dates stay text: the facts module parses them, and insists on a UTC offset.
    if raw.tag == "tag:yaml.org,2002:timestamp":
        return raw.value
    try:
        return build.construct_object(raw, deep=True)
    except yaml.YAMLError:
        return raw.value
