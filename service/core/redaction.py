"""Removing secrets from anything that leaves the process: log lines, error texts, Sentry events.

Two nets: the exact secret values we know (every secret setting, the database password, the webhook
code: see `Settings.secret_values`), and patterns for secrets we cannot know in advance (the code in
any `/rest/<user>/<code>/` URL, access and refresh tokens of app-mode events, `auth[...]` form fields,
`password=` in a libpq connection string, the userinfo of any URL). Pure: callers pass the secrets in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MASK = "[redacted]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Incoming-webhook URLs: https://portal/rest/<user id>/<code>/method
    (re.compile(r"(/rest/\d+/)([A-Za-z0-9_\-]{4,})"), r"\1" + MASK),
    # Auth fields of events, form-encoded or decoded, and as JSON or a Python dict's repr:
    # auth[access_token]=…, auth%5Bapplication_token%5D=…, "access_token": "…", 'refresh_token': '…'
    (
        re.compile(
            r"((?:auth(?:\[|%5B))?(?:access_token|application_token|refresh_token)(?:\]|%5D)?['\"]?"
            r"\s*[=:]\s*['\"]?)"
            r"([^&\s'\",}]+)",
            re.IGNORECASE,
        ),
        r"\1" + MASK,
    ),
    # Credentials named as such, in a libpq connection string (`password=… ` or `password='…'`, as
    # psycopg's errors and frames show it), a query string, JSON or a dict's repr.
    (
        re.compile(
            r"((?:password|passwd|pgpassword|client_secret|secret_key|api_key|encryption_key)['\"]?\s*[=:]\s*)"
            r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^&\s'\",}]+)",
            re.IGNORECASE,
        ),
        r"\1" + MASK,
    ),
    # The userinfo of any URL: postgresql://user:secret@host/db, https://key@sentry/1, redis://:pw@host
    (re.compile(r"(://)([^/@\s:]*:[^@\s/]*|[^/@\s:]+)(@)"), r"\1" + MASK + r"\3"),
)

_SECRET_KEYS = re.compile(r"(token|secret|password|webhook_url|authorization|cookie|dsn)", re.IGNORECASE)


class Redactor:
    """Masks known secret values and secret-shaped substrings in text and nested data."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a URL is masked before the code inside it; very short values are not secrets.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def data(self, value: object, key: str | None = None) -> object:
        """Walk dicts, lists and strings; values under secret-looking keys are masked outright."""
        if key is not None and _SECRET_KEYS.search(key) and isinstance(value, str | bytes) and value:
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.data(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def webhook_secrets(webhook_url: str | None) -> list[str]:
    """The values in a webhook URL that must be hidden: the whole URL and its code segment."""
    if not webhook_url:
        return []
    match = re.search(r"/rest/\d+/([^/]+)", webhook_url)
    return [webhook_url, *([match.group(1)] if match else [])]
