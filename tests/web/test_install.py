"""POST /bitrix24/install believes nothing the call claims until OUR OAuth server (B24_OAUTH_URL) has
renewed the posted refresh token and named the same portal: a reply naming another member_id or
client_endpoint is a 403, and nothing is stored, asked of the portal or bound."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from sqlalchemy import func, select

from service.assembly.resources import Resources
from service.assembly.wiring import web_parts
from service.sandbox import Portal, PortalConfig, SandboxServer
from service.store.portals import portals as portals_table
from service.web.app import create_app
from tests.web.conftest import FORM

MEMBER = "m" * 32
CLIENT_ID, SECRET = "local.sandbox0000000000.00000000", "sandbox-client-secret"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(Portal(config=PortalConfig(member_id=MEMBER, application_token=""))).start()
    server.portal.app.installed = True
    yield server
    server.stop()


@pytest.fixture
def app_mode(make_resources: Callable[..., Resources], sandbox: SandboxServer) -> Resources:
    return make_resources(
        b24_app_client_id=CLIENT_ID,
        b24_app_client_secret=SECRET,
        b24_encryption_key=Fernet.generate_key().decode(),
        b24_oauth_url=sandbox.url + "/oauth/token/",
        b24_public_url="http://127.0.0.1:9",
    )


def _install(client: FlaskClient, sandbox: SandboxServer, **claims: str) -> tuple[int, str]:
    """An ONAPPINSTALL with a genuine token pair of the sandbox portal and what the call `claims`."""
    grant = sandbox.portal.app.issue(1, sandbox.portal.clock())
    auth = {
        "member_id": MEMBER,
        "domain": sandbox.url.removeprefix("http://"),
        "client_endpoint": sandbox.url + "/rest/",
        "server_endpoint": sandbox.url + "/rest/",
        "access_token": grant["access_token"],
        "refresh_token": grant["refresh_token"],
        "application_token": "a1b2c3d4e5f6a7b8",
        "expires_in": "3600",
        **claims,
    }
    body = urlencode({"event": "ONAPPINSTALL", **{f"auth[{k}]": v for k, v in auth.items()}})
    answer = client.post("/bitrix24/install", data=body, content_type=FORM)
    return answer.status_code, str((answer.get_json() or {}).get("reason", ""))


def _stored(resources: Resources) -> int:
    with resources.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(portals_table)) or 0)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"member_id": "x" * 32}, "names another portal"),
        ({"client_endpoint": "http://127.0.0.1:9/rest/"}, "names another client_endpoint"),
    ],
)
def test_a_claim_the_oauth_server_contradicts_is_403_and_stores_nothing(
    app_mode: Resources, sandbox: SandboxServer, claims: dict[str, str], reason: str
) -> None:
    client = create_app(web_parts(app_mode)).test_client()

    status, said = _install(client, sandbox, **claims)

    assert (status, reason in said) == (403, True), said
    assert _stored(app_mode) == 0
    assert sandbox.portal.calls("app.info") == []
    assert sandbox.portal.calls("event.bind") == []


def test_the_same_call_with_the_claims_the_oauth_server_confirms_is_installed(
    app_mode: Resources, sandbox: SandboxServer
) -> None:
    client = create_app(web_parts(app_mode)).test_client()

    assert _install(client, sandbox) == (200, "")
    assert _stored(app_mode) == 1
