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


def test_without_b24_oauth_url_installs_are_checked_at_the_cloud_server_they_name_if_it_is_bitrix24s() -> (
    None
):
    oauth = OAuthServer(CLIENT_ID, SECRET)
    assert oauth.trusted_url() == DEFAULT_TOKEN_URL == "https://oauth.bitrix.info/oauth/token/"
    # A portal of the Russian region names oauth.bitrix24.tech: its install is checked there.
    assert (
        oauth.trusted_url("https://oauth.bitrix24.tech/rest/") == "https://oauth.bitrix24.tech/oauth/token/"
    )
    assert oauth.trusted_url("https://OAUTH.bitrix.info/rest/") == DEFAULT_TOKEN_URL
    # Any other server a request names is never asked: the default cloud server is.
    for named in (
        "https://oauth.bitrix24.tech.evil.example/rest/",
        "https://evil.example/rest/",
        "http://oauth.bitrix24.tech/rest/",
        "https://user@evil.example/?oauth.bitrix24.tech",
        "",
    ):
        assert oauth.trusted_url(named) == DEFAULT_TOKEN_URL, named
    # B24_OAUTH_URL wins over anything the install names.
    fixed = OAuthServer(CLIENT_ID, SECRET, fixed_url="https://oauth.example.org/oauth/token/")
    assert fixed.trusted_url("https://oauth.bitrix24.tech/rest/") == "https://oauth.example.org/oauth/token/"
