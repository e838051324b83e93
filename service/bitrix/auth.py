"""How a REST request proves who sends it: an incoming webhook's URL, or an installed portal's OAuth token.

- Webhook: `https://<portal>/rest/<user>/<code>/<method>`; the code in the URL is the credential.
  https://apidocs.bitrix24.com/local-integrations/local-webhooks.html
- OAuth (application mode): `<client_endpoint><method>` with `auth=<access token>` in the body; on
  401 `expired_token` the token is renewed once and the call repeated.
  https://apidocs.bitrix24.com/settings/oauth/index.html
Either way the secret never appears in a repr, a log line or an exception.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from service.core.bitrix.errors import BitrixError, PermanentError

_WEBHOOK = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/rest/[0-9]+/[A-Za-z0-9_]+/?$")
_ENDPOINT = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/rest/$")


class WebhookUrlError(ValueError):
    """The webhook URL is malformed (the message never repeats it)."""


@dataclass(frozen=True)
class Signed:
    """One request ready to send, and the credential it used (to tell a stale token from a renewed one)."""

    url: str = field(repr=False)
    body: bytes = field(repr=False)
    credential: str = field(repr=False)


class RestAuth(Protocol):
    portal: str  # the portal's host, for logs and repr

    def sign(self, method: str, body: bytes) -> Signed: ...

    def renew(self, error: BitrixError, credential: str) -> bool:
        """Whether `error` was an expired credential that is now renewed (repeat the call once)."""


class WebhookAuth:
    def __init__(self, webhook_url: str) -> None:
        if not _WEBHOOK.fullmatch(webhook_url):
            raise WebhookUrlError("the webhook URL must look like https://<portal>/rest/<user id>/<code>/")
        self.__base = webhook_url if webhook_url.endswith("/") else webhook_url + "/"
        self.portal = urlsplit(self.__base).hostname or ""

    def __repr__(self) -> str:
        return f"WebhookAuth(portal={self.portal!r})"

    def sign(self, method: str, body: bytes) -> Signed:
        return Signed(self.__base + method, body, "")

    def renew(self, error: BitrixError, credential: str) -> bool:
        return False  # a webhook code does not expire on its own


class TokenSource(Protocol):
    def access_token(self) -> str: ...

    def renew(self, stale: str) -> None:
        """Make sure a token newer than `stale` is in hand, or raise a `BitrixError`."""


class FixedToken:
    """One access token that cannot be renewed: an install being checked before anything is stored, or
    a portal administrator's, checked when they sign in to the status page."""

    def __init__(self, token: str) -> None:
        self.__token = token

    def __repr__(self) -> str:
        return "FixedToken(<hidden>)"

    def access_token(self) -> str:
        return self.__token

    def renew(self, stale: str) -> None:
        raise PermanentError("expired_token", "the install's access token has expired", 401, "auth")


class OAuthAuth:
    def __init__(self, client_endpoint: str, tokens: TokenSource) -> None:
        if not _ENDPOINT.fullmatch(client_endpoint):
            raise ValueError("client_endpoint must look like https://<portal>/rest/")
        self._endpoint = client_endpoint
        self._tokens = tokens
        self.portal = urlsplit(client_endpoint).hostname or ""

    def __repr__(self) -> str:
        return f"OAuthAuth(portal={self.portal!r})"

    def sign(self, method: str, body: bytes) -> Signed:
        token = self._tokens.access_token()
        return Signed(self._endpoint + method, with_auth(body, token), token)

    def renew(self, error: BitrixError, credential: str) -> bool:
        if error.code != "expired_token":
            return False
        self._tokens.renew(credential)
        return True


def with_auth(body: bytes, token: str) -> bytes:
    """The JSON body with `auth` appended last, so the positional parameters before it keep their order."""
    auth = json.dumps(token).encode("utf-8")
    stripped = body.rstrip()
    if stripped in (b"", b"{}"):
        return b'{"auth":' + auth + b"}"
    if not stripped.endswith(b"}"):
        raise ValueError("a REST body is a JSON object")
    return stripped[:-1] + b',"auth":' + auth + b"}"
