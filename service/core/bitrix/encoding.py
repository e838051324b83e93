"""Wire encodings of a `Call`: the JSON POST body, and the PHP `http_build_query` string of a batch command.

Both keep the parameter order (positional `task.*` methods depend on it). The query-string form follows
PHP's `http_build_query` with `urlencode` (RFC 1738): nested values flatten to `A[B][C]=v` with the brackets
percent-encoded, lists take keys 0..n-1, spaces become `+`, everything but `A-Za-z0-9_.-` is
percent-encoded as UTF-8, true/false become 1/0.
https://apidocs.bitrix24.com/settings/how-to-call-rest-api/data-encoding.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from urllib.parse import quote_plus

from service.core.bitrix.calls import Call


def json_body(call: Call) -> bytes:
    """The JSON object of the call's parameters, in order, UTF-8."""
    _check_values(call.params)
    return json.dumps(dict(call.params), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def http_build_query(params: Sequence[tuple[str, object]]) -> str:
    """`key=value&…` exactly as PHP's http_build_query would write these (ordered) parameters.

    PHP drops empty arrays and nulls from a query string, which would shift every later positional
    parameter by one, so both are refused here rather than silently sent wrong.
    """
    return "&".join(f"{_quote(key)}={_quote(value)}" for key, value in _flatten(params))


def command(call: Call) -> str:
    """A batch `cmd` entry: `method?query` (just `method` without parameters).

    The portal substitutes `$result[key][field]` in command values with earlier sub-results
    (https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html); we never chain, so a value
    containing it is refused instead of being rewritten by the server.
    """
    if not call.params:
        return call.method
    query = http_build_query(call.params)
    if "%24result%5B" in query:
        raise ValueError(f"{call.method}: a batch command value must not contain '$result['")
    return f"{call.method}?{query}"


def _flatten(params: Sequence[tuple[str, object]], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in params:
        if "[" in str(key) or "]" in str(key):
            raise ValueError(f"{key!r}: brackets in a key would change its meaning in a query string")
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            yield from _flatten(_nonempty(name, list(value.items())), name)
        elif isinstance(value, list | tuple):
            yield from _flatten(_nonempty(name, [(str(i), v) for i, v in enumerate(value)]), name)
        else:
            yield name, _scalar(name, value)


def _nonempty(name: str, items: list[tuple[str, object]]) -> list[tuple[str, object]]:
    if not items:
        raise ValueError(f"{name}: an empty array cannot be sent in a query string (PHP drops it)")
    return items


def _scalar(name: str, value: object) -> str:
    if value is None:
        raise ValueError(f"{name}: null cannot be sent in a query string (PHP drops it)")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | str):
        return str(value)
    raise TypeError(f"{name}: cannot encode a {type(value).__name__}")


@lru_cache(maxsize=4096)  # a round encodes the same keys and field names for every task it reads
def _quote(text: str) -> str:
    # PHP urlencode also encodes '~', which Python's quote_plus leaves alone.
    return quote_plus(text, safe="", encoding="utf-8").replace("~", "%7E")


def _check_values(params: Sequence[tuple[str, object]]) -> None:
    for key, value in params:
        if isinstance(value, Mapping):
            _check_values(list(value.items()))
        elif isinstance(value, list | tuple):
            _check_values([(key, v) for v in value])
        elif value is not None and not isinstance(value, bool | int | float | str):
            raise TypeError(f"{key}: cannot encode a {type(value).__name__}")
