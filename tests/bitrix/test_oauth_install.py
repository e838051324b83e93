"""The install check's renewal: at OUR OAuth URL only, naming the portal the tokens belong to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.bitrix.oauth import DEFAULT_TOKEN_URL, OAuthServer, RefreshRefused
from service.sandbox import Portal, PortalConfig, SandboxServer

CLIENT_ID, SECRET = "local.sandbox0000000000.00000000", "sandbox-client-secret"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(Portal(config=PortalConfig(member_id="m" * 32))).start()
    server.portal.app.installed = True
    yield server
    server.stop()


def test_the_renewal_names_the_portal_and_spends_the_posted_token(sandbox: SandboxServer) -> None:
    refresh = sandbox.portal.app.issue(1, sandbox.portal.clock())["refresh_token"]
    oauth = OAuthServer(CLIENT_ID, SECRET, fixed_url=sandbox.url + "/oauth/token/")
    renewal = oauth.renew_for_install(refresh)
    assert (renewal.member_id, renewal.client_endpoint) == ("m" * 32, sandbox.url + "/rest/")
    assert renewal.grant.refresh_token != refresh
    with pytest.raises(RefreshRefused, match="invalid_grant"):
        oauth.renew_for_install(refresh)  # spent: a replayed install post cannot pass again


def test_tokens_the_oauth_server_never_issued_are_refused(sandbox: SandboxServer) -> None:
    oauth = OAuthServer(CLIENT_ID, SECRET, fixed_url=sandbox.url + "/oauth/token/")
    with pytest.raises(RefreshRefused, match="invalid_grant"):
        oauth.renew_for_install("forged-refresh-token")


def test_without_b24_oauth_url_installs_are_checked_at_the_cloud_server() -> None:
    assert (
        OAuthServer(CLIENT_ID, SECRET).trusted_url
        == DEFAULT_TOKEN_URL
        == "https://oauth.bitrix.info/oauth/token/"
    )
