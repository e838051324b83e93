"""Who gets in: off without a token, sign-in with it, a hardened cookie, CSRF on every POST, no secrets."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from service.assembly.resources import Resources
from service.assembly.webwiring import ui_parts, web_parts
from service.plumbing.settings import ConfigError, load_settings
from service.web.app import create_app
from tests.web.conftest import TOKEN, sample
from tests.web.ui.conftest import OPERATOR, UI_TOKEN, sign_in

PAGES = ("/ui/", "/ui/activity", "/ui/audit", "/ui/rules", "/ui/actions", "/ui/confirm/replay?target=all")


def test_the_page_is_off_unless_a_token_is_configured(make_resources: Callable[..., Resources]) -> None:
    resources = make_resources()
    parts = web_parts(resources)
    assert ui_parts(resources, parts) is None
    client = create_app(parts).test_client()
    assert client.get("/ui/").status_code == 404
    assert client.get("/ui/sign-in").status_code == 404


def test_a_short_token_stops_start_up_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match=r"^B24_UI_TOKEN: .*at least 16") as raised:
        load_settings(b24_ui_token="tooshort")
    assert "tooshort" not in str(raised.value)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_strangers_to_sign_in(client: FlaskClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/ui/sign-in?next=")


def test_a_wrong_token_is_refused_and_sets_no_cookie(client: FlaskClient) -> None:
    answer = client.post("/ui/sign-in", data={"name": OPERATOR, "token": UI_TOKEN[:-1] + "x"})
    assert answer.status_code == 401
    assert "not the one configured" in answer.text
    assert "Set-Cookie" not in answer.headers
    assert client.post("/ui/sign-in", data={"name": " ", "token": UI_TOKEN}).status_code == 401


def test_signing_in_sets_a_hardened_session_cookie(client: FlaskClient) -> None:
    answer = client.post(
        "/ui/sign-in", data={"name": OPERATOR, "token": UI_TOKEN, "next": "/ui/audit?task=5"}
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/ui/audit?task=5"
    cookie = answer.headers["Set-Cookie"]
    for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/ui"):
        assert flag in cookie
    assert UI_TOKEN not in cookie
    assert f"signed in as <b>{OPERATOR}</b>" in client.get("/ui/").text


def test_the_secure_flag_can_be_turned_off_for_plain_http(make_resources: Callable[..., Resources]) -> None:
    resources = make_resources(b24_ui_token=UI_TOKEN, b24_ui_cookie_secure=False)
    client = create_app(web_parts(resources), ui_parts(resources, web_parts(resources))).test_client()
    answer = client.post("/ui/sign-in", data={"name": OPERATOR, "token": UI_TOKEN})
    assert "Secure" not in answer.headers["Set-Cookie"]
    assert "HttpOnly" in answer.headers["Set-Cookie"]


@pytest.mark.parametrize("target", ["https://evil.example/ui/", "//evil.example/ui", "/bitrix24/events"])
def test_sign_in_never_redirects_off_the_page(client: FlaskClient, target: str) -> None:
    answer = client.post("/ui/sign-in", data={"name": OPERATOR, "token": UI_TOKEN, "next": target})
    assert answer.headers["Location"] == "/ui/"


def test_a_forged_or_foreign_cookie_is_not_a_session(
    client: FlaskClient, make_resources: Callable[..., Resources]
) -> None:
    client.set_cookie("b24rules_ui", "eyJuYW1lIjoiTWFsbG9yeSJ9.forged", path="/ui")
    assert client.get("/ui/").status_code == 302
    # A cookie signed under another token (the token was rotated) no longer opens the page.
    other = make_resources(b24_ui_token="another-token-fedcba9876543210")
    elsewhere = create_app(web_parts(other), ui_parts(other, web_parts(other))).test_client()
    sign_in(elsewhere, token="another-token-fedcba9876543210")
    stolen = elsewhere.get_cookie("b24rules_ui", path="/ui")
    assert stolen is not None
    client.set_cookie("b24rules_ui", stolen.value, path="/ui")
    assert client.get("/ui/").status_code == 302


def test_posts_need_a_session_and_its_csrf_token(
    signed_in: tuple[FlaskClient, str], client: FlaskClient
) -> None:
    session, csrf = signed_in
    form = {"target": "all", "confirm": "yes"}
    assert session.post("/ui/act/replay", data=form).status_code == 403
    assert session.post("/ui/act/replay", data={**form, "csrf": csrf[:-2] + "xx"}).status_code == 403
    assert session.post("/ui/sign-out", data={}).status_code == 403
    assert "Nothing yet" in session.get("/ui/actions").text  # none of them ran
    assert session.post("/ui/act/replay", data={**form, "csrf": csrf}).status_code == 302
    session.delete_cookie("b24rules_ui", path="/ui")
    answer = session.post("/ui/act/replay", data={**form, "csrf": csrf})
    assert answer.status_code == 401
    assert "sign in first" in answer.text


def test_signing_out_ends_the_session(signed_in: tuple[FlaskClient, str]) -> None:
    client, csrf = signed_in
    answer = client.post("/ui/sign-out", data={"csrf": csrf})
    assert answer.status_code == 302
    assert client.get("/ui/").status_code == 302


def test_no_page_shows_a_secret_and_every_page_is_locked_down(signed_in: tuple[FlaskClient, str]) -> None:
    client, _ = signed_in
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 200, path
        for secret in (UI_TOKEN, TOKEN, "webhookcode123"):
            assert secret not in answer.text, (path, secret)
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["Cache-Control"] == "no-store"


def test_the_event_endpoint_is_untouched_by_the_page(client: FlaskClient) -> None:
    answer = client.post(
        "/bitrix24/events",
        data=sample("ontaskupdate-webhook.form"),
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    assert "Content-Security-Policy" not in answer.headers
