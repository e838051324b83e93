"""OAuth transport: `auth=` in the body, one renewal on expired_token, single-flight refresh across
processes (two keepers on one database), a refused refresh marks the portal once and stops."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from b24fake import FakePortal
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from service.bitrix.auth import OAuthAuth, with_auth
from service.bitrix.client import BitrixClient
from service.bitrix.limiter import SharedLimiter
from service.bitrix.oauth import Grant, OAuthServer, PortalTokens, RefreshRefused
from service.core.bitrix import Call, PermanentError, TransientError
from service.store.db import open_database
from service.store.portals import NEEDS_REINSTALL, Installation, Portals
from service.store.ratebucket import SqlRateBucket
from service.store.sealing import Sealer

ENDPOINT = "https://a.example/rest/"


class CountingOAuth:
    """Hands out access-N / refresh-N, slowly (so concurrent renewals really overlap)."""

    def __init__(self, refuse: str | None = None) -> None:
        self.calls: list[str] = []
        self.refuse = refuse
        self._lock = threading.Lock()

    def refresh(self, server_endpoint: str, refresh_token: str) -> Grant:
        time.sleep(0.2)
        with self._lock:
            self.calls.append(refresh_token)
            if self.refuse:
                raise RefreshRefused(self.refuse)
            n = len(self.calls) + 1
        return Grant(f"access-{n}", f"refresh-{n}", datetime.now(UTC) + timedelta(hours=1))


@pytest.fixture
def engine() -> Iterator[Engine]:
    folder = tempfile.mkdtemp(prefix="b24rules-oauth-")
    engine = open_database(f"sqlite:///{folder}/db.sqlite3")
    yield engine
    engine.dispose()


@pytest.fixture
def portals(engine: Engine) -> Portals:
    registry = Portals(engine, Sealer(Fernet.generate_key().decode()))
    now = datetime.now(UTC)
    registry.install(
        Installation(
            "m-1", "a.example", ENDPOINT, "https://oauth.example/rest/", "app", "access-1", "refresh-1", now
        ),
        now,
    )
    return registry


def _keeper(portals: Portals, oauth: Any, reported: list[str] | None = None) -> PortalTokens:
    return PortalTokens(
        portals,
        "m-1",
        "https://oauth.example/rest/",
        oauth,
        on_needs_reinstall=lambda member, reason: (reported if reported is not None else []).append(reason),
    )


def test_the_token_goes_last_in_the_body_so_positions_hold() -> None:
    assert with_auth(b'{"TASKID":1,"ITEMID":2}', "tok") == b'{"TASKID":1,"ITEMID":2,"auth":"tok"}'
    assert with_auth(b"{}", "tok") == b'{"auth":"tok"}'


def test_a_refresh_goes_only_where_installs_are_checked() -> None:
    asked: list[str] = []

    class Unreachable(requests.Session):
        def get(self, url: str | bytes, **_: Any) -> requests.Response:
            asked.append(str(url))
            raise requests.ConnectionError("no network in this test")

    cloud = OAuthServer("client", "secret", session=Unreachable())
    fixed = OAuthServer(
        "client", "secret", fixed_url="http://127.0.0.1:1/oauth/token/", session=Unreachable()
    )
    for oauth, endpoint in (
        (cloud, "https://oauth.bitrix24.tech/rest/"),
        (cloud, "https://portal.example.com/rest/"),  # a stored endpoint on any other host: not asked
        (fixed, "https://oauth.bitrix.info/rest/"),
    ):
        with pytest.raises(TransientError):
            oauth.refresh(endpoint, "refresh-token")
    assert asked == [
        "https://oauth.bitrix24.tech/oauth/token/",
        "https://oauth.bitrix.info/oauth/token/",
        "http://127.0.0.1:1/oauth/token/",
    ]


def test_concurrent_keepers_refresh_once_and_all_get_the_new_token(portals: Portals) -> None:
    oauth = CountingOAuth()
    keepers = [_keeper(portals, oauth) for _ in range(4)]  # four processes' worth
    for keeper in keepers:
        assert keeper.access_token() == "access-1"

    threads = [threading.Thread(target=keeper.renew, args=("access-1",)) for keeper in keepers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert oauth.calls == ["refresh-1"]
    assert {keeper.access_token() for keeper in keepers} == {"access-2"}
    tokens = portals.tokens("m-1")
    assert tokens is not None
    assert tokens.refresh_token == "refresh-2"


def test_a_refused_refresh_marks_the_portal_once_and_raises_permanent(portals: Portals) -> None:
    reported: list[str] = []
    keeper = _keeper(portals, CountingOAuth(refuse="invalid_grant"), reported)

    with pytest.raises(PermanentError, match="invalid_grant"):
        keeper.renew("access-1")
    with pytest.raises(PermanentError):
        keeper.renew("access-1")  # no second call to the OAuth server: the portal is not active any more

    assert reported == ["token refresh refused: invalid_grant"]
    assert portals.get("m-1").status == NEEDS_REINSTALL  # type: ignore[union-attr]


def test_the_client_renews_once_on_expired_token_and_repeats_the_call(
    portals: Portals, rate_bucket: SqlRateBucket
) -> None:
    fake = FakePortal()
    session = requests.Session()
    session.mount("https://", fake)
    tokens_seen: list[str] = []

    def handler(method: str, body: dict[str, Any]) -> tuple[int, Any]:
        tokens_seen.append(body["auth"])
        if body["auth"] == "access-1":
            return 401, {
                "error": "expired_token",
                "error_description": "The access token provided has expired.",
            }
        return 200, {"result": {"task": {"id": "7"}}, "time": {}}

    fake.handler = handler
    oauth = CountingOAuth()
    client = BitrixClient(
        OAuthAuth(ENDPOINT, _keeper(portals, oauth)),
        SharedLimiter(rate_bucket, "acme", 100, 100),
        session=session,
    )

    reply = client.call(Call("tasks.task.get", (("taskId", 7),)))

    assert reply.result == {"task": {"id": "7"}}
    assert tokens_seen == ["access-1", "access-2"]
    assert [request.url for request in fake.raw] == [ENDPOINT + "tasks.task.get"] * 2
    assert "access" not in repr(client)
