"""POST /bitrix24/install believes nothing the call claims until OUR OAuth server (B24_OAUTH_URL) has
renewed the posted refresh token and named the same portal: a reply naming another member_id or
client_endpoint is a 403, and nothing is stored, asked of the portal or bound."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.assembly.application import ApplicationTokens, make_application
from service.assembly.resources import Resources
from service.assembly.webwiring import web_parts
from service.sandbox import SandboxServer
from service.store.portals import portals as portals_table
from service.web.app import create_app
from tests.web.conftest import MEMBER, post_install


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

    status, said = post_install(client, sandbox, **claims)

    assert (status, reason in said) == (403, True), said
    assert _stored(app_mode) == 0
    assert sandbox.portal.calls("app.info") == []
    assert sandbox.portal.calls("event.bind") == []


def test_the_same_call_with_the_claims_the_oauth_server_confirms_is_installed(
    app_mode: Resources, sandbox: SandboxServer
) -> None:
    client = create_app(web_parts(app_mode)).test_client()

    assert post_install(client, sandbox) == (200, "")
    assert _stored(app_mode) == 1


def test_an_install_page_install_answers_a_page_that_finishes_the_install_in_the_portal(
    app_mode: Resources, sandbox: SandboxServer
) -> None:
    """An application with an interface is installed through its installation page: our answer is shown
    in the portal's frame, and the portal counts the application installed only once that page calls
    BX24.installFinish(). The page form's APPLICATION_TOKEN is stored for the events endpoint."""
    client = create_app(web_parts(app_mode)).test_client()
    grant = sandbox.portal.app.issue(1, sandbox.portal.clock())
    host = sandbox.url.removeprefix("http://")
    form = {"AUTH_ID": grant["access_token"], "REFRESH_ID": grant["refresh_token"], "AUTH_EXPIRES": "3600",
            "SERVER_ENDPOINT": sandbox.url + "/rest/", "member_id": MEMBER,
            "APPLICATION_TOKEN": "a1b2c3d4e5f6a7b8"}  # fmt: skip

    answer = client.post(f"/bitrix24/install?DOMAIN={host}&PROTOCOL=0", data=form)

    assert answer.status_code == 200, answer.text
    assert answer.mimetype == "text/html"
    assert '<script src="https://api.bitrix24.com/api/v1/"></script>' in answer.text
    assert "BX24.installFinish()" in answer.text
    assert answer.headers["Content-Security-Policy"] == f"frame-ancestors https://{host}"
    assert _stored(app_mode) == 1
    assert ApplicationTokens(make_application(app_mode).portals)(MEMBER) == "a1b2c3d4e5f6a7b8"
    assert grant["access_token"] not in answer.text


def test_a_lifetime_in_unicode_digits_is_no_server_error(app_mode: Resources, sandbox: SandboxServer) -> None:
    client = create_app(web_parts(app_mode)).test_client()

    assert post_install(client, sandbox, expires_in="\u00b2") == (200, "")  # it was a 500
