"""Install and uninstall calls: both install shapes, and one-line errors that never quote a value."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from service.core.appinstall import endpoint_problem, parse_install, parse_uninstall
from service.core.events import EventError, read_form

FORM = "application/x-www-form-urlencoded"
EVENT = {
    "event": "ONAPPINSTALL",
    "auth[access_token]": "acc3ss-t0ken-1234",
    "auth[refresh_token]": "r3fresh-t0ken-5678",
    "auth[expires_in]": "3600",
    "auth[domain]": "Acme.bitrix24.com",
    "auth[member_id]": "d897063e1ce7c5eb9f04b9751eef5915",
    "auth[application_token]": "app-t0ken-9abc",
    "auth[client_endpoint]": "https://acme.bitrix24.com/rest/",
    "auth[server_endpoint]": "https://oauth.bitrix.info/rest/",
}


def _form(values: dict[str, str]) -> dict[str, object]:
    return read_form(urlencode(values).encode(), FORM)


def test_the_onappinstall_event_form() -> None:
    request = parse_install(_form(EVENT), "")
    assert (request.member_id, request.domain, request.client_endpoint) == (
        EVENT["auth[member_id]"],
        "acme.bitrix24.com",
        "https://acme.bitrix24.com/rest/",
    )
    assert (request.access_token, request.refresh_token, request.application_token) == (
        "acc3ss-t0ken-1234",
        "r3fresh-t0ken-5678",
        "app-t0ken-9abc",
    )
    assert "t0ken" not in repr(request)


def test_the_install_page_form_takes_domain_and_protocol_from_the_query() -> None:
    body = {"AUTH_ID": "acc3ss-t0ken-1234", "REFRESH_ID": "r3fresh-t0ken-5678", "AUTH_EXPIRES": "3600",
            "member_id": "m1234"}  # fmt: skip
    request = parse_install(_form(body), "DOMAIN=portal.example:8443&PROTOCOL=0&LANG=en")
    assert request.client_endpoint == "http://portal.example:8443/rest/"
    assert request.application_token == ""
    assert request.server_endpoint == "https://oauth.bitrix.info/rest/"
    with_token = parse_install(_form({**body, "APPLICATION_TOKEN": "app-t0ken-9abc"}), "DOMAIN=p.example")
    assert with_token.application_token == "app-t0ken-9abc"
    malformed = parse_install(_form({**body, "APPLICATION_TOKEN": "no spaces"}), "DOMAIN=p.example")
    assert malformed.application_token == ""


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"auth[access_token]": ""}, "auth[access_token]' is missing"),
        ({"auth[member_id]": "no spaces allowed here"}, "auth[member_id]' is malformed"),
        ({"auth[client_endpoint]": "https://evil.example/other/"}, "client_endpoint"),
        ({"event": "ONTASKUPDATE"}, "not an install call"),
    ],
)
def test_malformed_installs_are_one_line_errors(change: dict[str, str], reason: str) -> None:
    with pytest.raises(EventError) as caught:
        parse_install(_form({**EVENT, **change}), "")
    assert reason in str(caught.value)
    assert "t0ken" not in str(caught.value)


@pytest.mark.parametrize(
    "field", ["member_id", "domain", "access_token", "refresh_token", "application_token"]
)
@pytest.mark.parametrize("padding", ["{}\n", " {}", "{} ", "{}\t"])
def test_ids_and_tokens_with_whitespace_are_refused_not_trimmed(field: str, padding: str) -> None:
    # `$` alone lets a trailing newline through, and trimming reads " m1 " as m1: neither is what was sent.
    value = padding.format(EVENT[f"auth[{field}]"])
    with pytest.raises(EventError, match=f"auth\\[{field}\\]' is malformed"):
        parse_install(_form({**EVENT, f"auth[{field}]": value}), "")


def test_a_page_token_or_uninstall_member_id_with_a_newline_is_not_taken_as_sent() -> None:
    page = {"AUTH_ID": "acc3ss-t0ken-1234", "REFRESH_ID": "r3fresh-t0ken-5678", "member_id": "m1234"}
    assert (
        parse_install(
            _form({**page, "APPLICATION_TOKEN": "app-t0ken-9abc\n"}), "DOMAIN=p.example"
        ).application_token
        == ""
    )
    with pytest.raises(EventError, match="'auth\\[member_id\\]' is malformed"):
        parse_uninstall(
            _form({"event": "ONAPPUNINSTALL", "auth[member_id]": "m1\n", "auth[domain]": "a.example"})
        )


@pytest.mark.parametrize(
    "endpoint", ["https://acme.bitrix24.com/rest/\n", " https://acme.bitrix24.com/rest/"]
)
def test_an_endpoint_with_whitespace_is_refused(endpoint: str) -> None:
    with pytest.raises(EventError, match="client_endpoint"):
        parse_install(_form({**EVENT, "auth[client_endpoint]": endpoint}), "")


@pytest.mark.parametrize("expires_in", ["\u00b2", "\u0661\u0662", "9" * 40, "1e3", ""])
def test_a_lifetime_that_is_not_ascii_digits_is_the_default_not_a_crash(expires_in: str) -> None:
    # "²".isdigit() is True and int("²") raises: the install answered 500.
    assert parse_install(_form({**EVENT, "auth[expires_in]": expires_in}), "").expires_in == 3600


def test_uninstall_is_recognised_and_other_events_are_not() -> None:
    fields = {"event": "ONAPPUNINSTALL", "auth[member_id]": "m1", "auth[domain]": "a.example"}
    uninstall = parse_uninstall(_form({**fields, "auth[application_token]": "t"}))
    assert uninstall is not None
    assert (uninstall.member_id, uninstall.application_token) == ("m1", "t")
    assert parse_uninstall(_form({"event": "ONTASKUPDATE"})) is None


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"auth[client_endpoint]": "http://acme.bitrix24.com/rest/"}, "must be https"),
        ({"auth[server_endpoint]": "http://oauth.bitrix.info/rest/"}, "must be https"),
        ({"auth[client_endpoint]": "https://evil.example.com/rest/"}, "not on the portal's domain"),
        ({"auth[client_endpoint]": "https://acme.bitrix24.com:8443/rest/"}, "not on the portal's domain"),
    ],
)
def test_endpoints_must_be_https_on_the_portals_own_domain(
    changes: dict[str, str], problem: str | None
) -> None:
    request = parse_install(_form({**EVENT, **changes}), "")
    found = endpoint_problem(request, plain_http_allowed=False)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_plain_loopback_http_is_allowed_only_when_our_oauth_server_is_loopback() -> None:
    request = parse_install(_form({**EVENT, "auth[client_endpoint]": "http://127.0.0.1:5000/rest/"}), "")
    assert endpoint_problem(request, plain_http_allowed=True) is None
    assert endpoint_problem(request, plain_http_allowed=False) is not None
