"""Incoming Bitrix24 task events: parse the portal's form body into a typed event, check its token.

Bitrix24 posts `application/x-www-form-urlencoded` bodies built like PHP's `http_build_query`, so nested
keys arrive flattened (`data[FIELDS_AFTER][ID]=691`, `auth[application_token]=…`) and every value is a
string. Task events carry only the task id: `FIELDS_BEFORE` / `FIELDS_AFTER` is the literal string
`undefined` on the side that has no task (ONTASKADD before, ONTASKDELETE after).
See https://apidocs.bitrix24.com/api-reference/events/index.html and
api-reference/tasks/events-tasks/on-task-update.html.

Pure: no I/O, no clock. Errors a sender causes are `EventError` values with a one-line reason.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from urllib.parse import parse_qsl

MAX_BODY_BYTES = 64 * 1024
MAX_STORED_CHARS = 255  # the journal's columns for handler id, domain and member id
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")  # fullmatch: `$` also matches before a final "\n"
_BRACKETED = re.compile(r"\[([^\[\]]*)\]")
_EVENT_NAME = re.compile(r"[A-Z0-9_]{1,64}")
# fullmatch, never `$`: `$` also matches before a trailing newline, so "1\n" would read as task 1.
_POSITIVE_INT = re.compile(r"[0-9]{1,18}")


class EventError(ValueError):
    """The body is not a task event we can accept; `str(error)` is a one-line reason for the sender."""


class BodyTooLarge(EventError):
    """The body is over MAX_BODY_BYTES (answered 413, not 400)."""


class AuthVerdict(Enum):
    OK = "ok"
    MISSING_TOKEN = "application token missing"  # noqa: S105 (a message, not a secret)
    WRONG_TOKEN = "application token does not match"  # noqa: S105
    WRONG_MEMBER = "member id does not match"


@dataclass(frozen=True)
class TaskEvent:
    """One task event as the portal sent it, minus credentials."""

    name: str  # upper case, e.g. ONTASKUPDATE
    task_id: int
    ts: int | None  # unix seconds the portal queued the event, when sent
    handler_id: str
    domain: str
    member_id: str
    # Kept only to verify; never persisted, logged or shown in repr (see `public_fields`).
    application_token: str = field(repr=False)

    def public_fields(self) -> dict[str, object]:
        """What may be stored and logged: everything but credentials."""
        return {
            "event": self.name,
            "task_id": self.task_id,
            "ts": self.ts,
            "event_handler_id": self.handler_id,
            "domain": self.domain,
            "member_id": self.member_id,
        }


def parse_form(body: bytes, content_type: str | None) -> TaskEvent:
    """Turn a raw request body into a `TaskEvent`, or raise `EventError` saying what is wrong."""
    return _task_event(read_form(body, content_type))


def read_form(body: bytes, content_type: str | None) -> dict[str, object]:
    """A raw form body as nested fields (`a[b]=v` → {"a": {"b": "v"}}), or `EventError`."""
    mimetype = (content_type or "").split(";", 1)[0].strip().lower()
    if mimetype != FORM_CONTENT_TYPE:
        raise EventError(f"content type must be {FORM_CONTENT_TYPE}, got {mimetype or 'none'}")
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EventError("body is not valid UTF-8") from error
    return unflatten(_pairs(text))


def _pairs(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=500, errors="strict"
        )
    except UnicodeDecodeError:
        raise EventError("body is not valid UTF-8 once percent-decoded") from None
    except ValueError as error:
        # parse_qsl's own message quotes the bad field, which may be a token: never echo it back.
        if "Max number of fields" in str(error):
            raise EventError("body is not a form: more than 500 fields") from None
        position = next((n for n, part in enumerate(text.split("&"), 1) if "=" not in part), None)
        raise EventError(f"body is not a form: field {position or '?'} has no '='") from None


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, object]:
    """PHP-style `a[b][c]=v` pairs → nested dicts. A later plain value and a nested one conflict → error."""
    root: dict[str, object] = {}
    for key, value in pairs:
        path = _key_path(key)
        if path is None:
            raise EventError(f"malformed form key {key[:60]!r}")
        _assign(root, path, value, key)
    return root


@lru_cache(maxsize=1024)
def _key_path(key: str) -> tuple[str, ...] | None:
    # Cached: the portal sends the same dozen keys with every event (measured: unflatten 21 → 3 µs).
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    return (match.group(1), *_BRACKETED.findall(match.group(2)))


def _assign(root: dict[str, object], path: tuple[str, ...], value: str, key: str) -> None:
    node = root
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise EventError(f"form key {key[:60]!r} conflicts with a plain value")
        node = child
    if isinstance(node.get(path[-1]), dict):
        raise EventError(f"form key {key[:60]!r} conflicts with nested keys")
    node[path[-1]] = value


def _task_event(form: Mapping[str, object]) -> TaskEvent:
    name = _text(form, "event").upper()
    if not name:
        raise EventError("field 'event' is missing")
    if not _EVENT_NAME.fullmatch(name):
        raise EventError("field 'event' is not an event name")
    data = form.get("data")
    if not isinstance(data, dict):
        raise EventError("field 'data' is missing")
    auth = form.get("auth")
    if not isinstance(auth, dict):
        raise EventError("field 'auth' is missing")
    return TaskEvent(
        name=name,
        task_id=_task_id(data),
        ts=_optional_int(_text(form, "ts"), "ts"),
        handler_id=_stored_text(form, "event_handler_id"),
        domain=_stored_text(auth, "domain"),
        member_id=_stored_text(auth, "member_id"),
        application_token=_text(auth, "application_token"),
    )


def _task_id(data: Mapping[str, object]) -> int:
    """The task id from FIELDS_AFTER (add, update) or FIELDS_BEFORE (delete); `undefined` is no side."""
    for side in ("FIELDS_AFTER", "FIELDS_BEFORE"):
        fields = data.get(side)
        if isinstance(fields, dict) and "ID" in fields:
            raw = fields["ID"]
            if isinstance(raw, str) and _POSITIVE_INT.fullmatch(raw) and int(raw) > 0:
                return int(raw)
            raise EventError(f"data[{side}][ID] is not a task id")
    raise EventError("task id missing: neither data[FIELDS_AFTER][ID] nor data[FIELDS_BEFORE][ID] is set")


def _text(form: Mapping[str, object], key: str) -> str:
    """A plain value exactly as sent: never stripped, so a credential is compared byte for byte and a
    token with spaces around it is a different token."""
    value = form.get(key, "")
    if not isinstance(value, str):
        raise EventError(f"field {key!r} must be a plain value")
    return value


def _stored_text(form: Mapping[str, object], key: str) -> str:
    """A value the journal stores: it must fit its column (255) and hold no NUL (PostgreSQL refuses
    one). Refused here as a 400, rather than failing the database write that holds other events too."""
    value = _text(form, key)
    if len(value) > MAX_STORED_CHARS:
        raise EventError(f"field {key!r} is longer than {MAX_STORED_CHARS} characters")
    if "\x00" in value:
        raise EventError(f"field {key!r} contains a NUL character")
    return value


def _optional_int(raw: str, key: str) -> int | None:
    if not raw:
        return None
    if not _POSITIVE_INT.fullmatch(raw):
        raise EventError(f"field {key!r} is not a whole number")
    return int(raw)


def verify_auth(event: TaskEvent, application_token: str, member_id: str | None) -> AuthVerdict:
    """Compare the event's credentials with ours in constant time (Bitrix24 signs nothing else)."""
    if not event.application_token:
        return AuthVerdict.MISSING_TOKEN
    if not hmac.compare_digest(event.application_token.encode(), application_token.encode()):
        return AuthVerdict.WRONG_TOKEN
    if member_id and not hmac.compare_digest(event.member_id.encode(), member_id.encode()):
        return AuthVerdict.WRONG_MEMBER
    return AuthVerdict.OK
