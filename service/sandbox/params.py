"""Request parameters as the portal reads them: PHP-style form keys, and positional legacy arguments.

Bitrix24 runs on PHP, so ``a[b][c]=1`` form keys become nested arrays, every form value is a string,
and the legacy ``task.*`` methods drop the key names and read the values in order
(https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/ — "mandatory to follow the order").
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

Params = dict[str, Any]

_KEY = re.compile(r"^([^\[\]]*)((?:\[[^\]]*\])*)$")


def _key_path(key: str) -> list[str]:
    match = _KEY.match(key)
    if not match or not match.group(1):
        return [key]
    return [match.group(1), *re.findall(r"\[([^\]]*)\]", match.group(2))]


def _set_path(target: Params, path: list[str], value: str) -> None:
    node = target
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if part == "":  # ``a[]``: append with the next integer index, like PHP
            ints = [int(k) for k in node if str(k).isdigit()]
            part = str(max(ints) + 1 if ints else 0)
        if last:
            node[part] = value
            return
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child


def parse_php_query(query: str) -> Params:
    """Parse ``a[b][]=1&c=2`` into ordered nested dicts of strings (PHP ``parse_str``)."""
    result: Params = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        _set_path(result, _key_path(key), value)
    return result


def parse_body(content_type: str, body: bytes) -> Params:
    """Parse a JSON or form body; a JSON list becomes ``{"0": …, "1": …}`` (positional call)."""
    if not body.strip():
        return {}
    if "json" in content_type:
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}
        if isinstance(data, list):
            return {str(i): v for i, v in enumerate(data)}
        return data if isinstance(data, dict) else {}
    return parse_php_query(body.decode("utf-8", errors="replace"))


def positional(params: Params) -> list[Any]:
    """Values in the order they arrived; key names are ignored, exactly as the server does."""
    return [value for key, value in params.items() if key != "auth"]


def is_array(value: Any) -> bool:
    return isinstance(value, dict | list)


def as_list(value: Any) -> list[Any]:
    """A PHP array's values (form arrays arrive as dicts with index keys)."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return [] if value is None or value == "" else [value]


def php_int(value: Any) -> int | None:
    """PHP-ish integer reading of a scalar: ``"691"`` → 691; ``None`` for arrays and junk."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        match = re.match(r"^\s*(-?\d+)", value)
        return int(match.group(1)) if match else None
    return None


def get_ci(params: Params, name: str, default: Any = None) -> Any:
    """Named (new-style ``tasks.task.*``) parameter, case-insensitive like the controllers."""
    lowered = name.lower()
    for key, value in params.items():
        if key.lower() == lowered:
            return value
    return default


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "y", "yes", "on"}
    return bool(value)
