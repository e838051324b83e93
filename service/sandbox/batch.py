"""``batch``: up to 50 ``method?query`` sub-commands in one HTTP request (one bucket drop).

https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html — HTTP 200 even when
sub-commands fail; ``result``/``result_error``/``result_total``/``result_next``/``result_time``;
empty sections are ``[]`` (PHP empty array); ``$result[key][field]`` refers to earlier results;
``halt=1`` stops at the first failure; a nested ``batch`` is refused; commands past the 50th are not
run and each gets ``ERROR_BATCH_LENGTH_EXCEEDED`` in ``result_error``.
"""

from __future__ import annotations

import re
from typing import Any

from .dispatch import call_method, normalize_method
from .errors import system_error
from .params import get_ci, parse_php_query, truthy
from .registry import Call, Outcome, method

MAX_COMMANDS = 50
SECTIONS = ("result", "result_error", "result_total", "result_next", "result_time")
_REF = re.compile(r"\$result((?:\[[^\]]*\])+)")


def php_array(section: dict[str, Any]) -> dict[str, Any] | list[Any]:
    """PHP json_encode: empty or 0..n-1 keyed arrays become JSON lists."""
    if all(str(k) == str(i) for i, k in enumerate(section)):
        return list(section.values())
    return section


def _lookup(results: dict[str, Any], path: list[str]) -> Any:
    node: Any = results
    for part in path:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def resolve(value: Any, results: dict[str, Any]) -> Any:
    """Replace ``$result[k][f]`` references in string leaves with earlier sub-results."""
    if isinstance(value, dict):
        return {k: resolve(v, results) for k, v in value.items()}
    if not isinstance(value, str) or "$result[" not in value:
        return value
    whole = _REF.fullmatch(value)
    if whole:
        found = _lookup(results, re.findall(r"\[([^\]]*)\]", whole.group(1)))
        return "" if found is None else found

    def text(match: re.Match[str]) -> str:
        found = _lookup(results, re.findall(r"\[([^\]]*)\]", match.group(1)))
        return "" if found is None or isinstance(found, dict | list) else str(found)

    return _REF.sub(text, value)


def _commands(raw: Any) -> list[tuple[str, str]]:
    if isinstance(raw, list):
        return [(str(i), str(c)) for i, c in enumerate(raw)]
    if isinstance(raw, dict):
        return [(str(k), str(c)) for k, c in raw.items()]
    return []


@method("batch", scope="basic")
def run_batch(call: Call) -> Outcome:
    commands = _commands(get_ci(call.params, "cmd"))
    halt = truthy(get_ci(call.params, "halt", 0))
    out: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for key, line in commands[:MAX_COMMANDS]:
        name, _, query = line.partition("?")
        sub_method = normalize_method(name)
        params = resolve(parse_php_query(query), out["result"])
        res = call_method(call.portal, call.webhook, sub_method, params, call.seq, nested=True)
        out["result_time"][key] = res.time
        if res.error is not None:
            out["result_error"][key] = res.payload
            if halt:
                break
            continue
        out["result"][key] = res.payload.get("result")
        if "total" in res.payload:
            out["result_total"][key] = res.payload["total"]
        if "next" in res.payload:
            out["result_next"][key] = res.payload["next"]
    for key, _line in commands[MAX_COMMANDS:]:
        # Kernel methodsBatch: commands past the 50th are not run, each answers this error (HTTP 200).
        out["result_error"][key] = system_error("ERROR_BATCH_LENGTH_EXCEEDED").body()
    return Outcome({name: php_array(section) for name, section in out.items()})
