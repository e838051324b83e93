"""Wire encodings: JSON bodies and PHP http_build_query strings keep order and round-trip exactly."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import pytest

from service.core.bitrix import Call, command, entries_list, entry_add, http_build_query, json_body

_KEY = re.compile(r"^([^\[]+)((?:\[[^\]]*\])*)$")


def php_parse(query: str) -> dict[str, Any]:
    """A minimal PHP parse_str: `a[b][0]=v` → {"a": {"b": {"0": "v"}}}, insertion order kept."""
    out: dict[str, Any] = {}
    for pair in query.split("&"):
        raw_key, _, raw_value = pair.partition("=")
        match = _KEY.match(unquote_plus(raw_key))
        assert match, raw_key
        path = [match.group(1), *re.findall(r"\[([^\]]*)\]", match.group(2))]
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = unquote_plus(raw_value)
    return out


def normalise(value: object) -> object:
    """What PHP sees after a query-string round trip: lists become 0..n-1 maps, scalars strings."""
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return {str(i): normalise(v) for i, v in enumerate(value)}
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def test_query_string_matches_php_http_build_query() -> None:
    params = (("TASKID", 691), ("ORDER", {"ID": "asc"}), ("SELECT", ["ID", "SECONDS"]))
    assert http_build_query(params) == ("TASKID=691&ORDER%5BID%5D=asc&SELECT%5B0%5D=ID&SELECT%5B1%5D=SECONDS")


def test_percent_encoding_like_php_urlencode() -> None:
    query = http_build_query((("a", "John&Martin = 1+1 ~ ü/?#%"),))
    assert query == "a=John%26Martin+%3D+1%2B1+%7E+%C3%BC%2F%3F%23%25"


def test_booleans_as_php_writes_them() -> None:
    assert http_build_query((("halt", True), ("x", False))) == "halt=1&x=0"


@pytest.mark.parametrize(
    "params",
    [
        (("TASKID", 1), ("ARFIELDS", {"SECONDS": 60, "COMMENT_TEXT": "Привет, мир & co", "USER_ID": 7})),
        (("filter", {">=CHANGED_DATE": "2025-01-02T03:04:05+02:00", "!ID": [1, 2, 3]}),),
        (("deep", {"a": {"b": {"c": ["x", {"d": "e f"}]}}}), ("z", "последний")),
        (("emoji", "⏱ 5m [done]"), ("k", "a=b&c=d")),
    ],
)
def test_round_trip_through_a_php_style_parser(params: tuple[tuple[str, object], ...]) -> None:
    parsed = php_parse(http_build_query(params))
    assert parsed == normalise(dict(params))
    assert list(parsed) == [key for key, _ in params]


def test_empty_arrays_and_nulls_are_refused_because_php_would_drop_them() -> None:
    with pytest.raises(ValueError, match="empty array"):
        http_build_query((("TASKID", 1), ("FILTER", {}), ("SELECT", ["ID"])))
    with pytest.raises(ValueError, match="null"):
        http_build_query((("TASKID", None),))


def test_brackets_in_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="brackets"):
        http_build_query((("k[ey]", "v"),))


def test_unencodable_values_are_refused() -> None:
    with pytest.raises(TypeError):
        http_build_query((("when", datetime.now(UTC)),))
    with pytest.raises(TypeError):
        json_body(Call("m", (("when", object()),)))


def test_json_body_keeps_order_and_unicode() -> None:
    call = entry_add(691, 113, "коммент", user_id=5, created_date=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    body = json_body(call)
    assert body.decode() == (
        '{"TASKID":691,"ARFIELDS":{"SECONDS":113,"COMMENT_TEXT":"коммент","USER_ID":5,'
        '"CREATED_DATE":"2025-01-02T03:04:05+00:00"}}'
    )
    assert list(json.loads(body)) == ["TASKID", "ARFIELDS"]


def test_command_string_keeps_positional_order() -> None:
    assert command(entries_list(691)).startswith(
        "task.elapseditem.getlist?TASKID=691&ORDER%5BID%5D=asc&FILTER%5B%3EID%5D=0&SELECT%5B0%5D=ID"
    )
    assert command(Call("user.current")) == "user.current"


def test_command_refuses_batch_result_references() -> None:
    with pytest.raises(ValueError, match=r"\$result"):
        command(Call("task.elapseditem.add", (("TASKID", 1), ("ARFIELDS", {"COMMENT_TEXT": "$result[x]"}))))
