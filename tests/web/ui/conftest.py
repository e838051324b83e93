"""The app with the status page on (B24_UI_TOKEN set), and a client signed in through the sign-in form."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.assembly.resources import Resources
from service.assembly.webwiring import ui_parts, web_parts
from service.web.app import create_app
from service.web.ui.parts import UiParts

UI_TOKEN = "ui-token-0123456789abcdef"
OPERATOR = "Ann Operator"


@pytest.fixture
def resources(make_resources: Callable[..., Resources]) -> Resources:
    return make_resources(b24_ui_token=UI_TOKEN)


@pytest.fixture
def parts(resources: Resources) -> UiParts:
    found = ui_parts(resources, web_parts(resources))
    assert found is not None
    return found


@pytest.fixture
def make_app(resources: Resources, parts: UiParts) -> Callable[..., Flask]:
    """The app, with some of the page's collaborators replaced (e.g. a portal that fails)."""

    def make(**changes: object) -> Flask:
        return create_app(web_parts(resources), replace(parts, **changes))  # type: ignore[arg-type]

    return make


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


def sign_in(client: FlaskClient, name: str = OPERATOR, token: str = UI_TOKEN) -> str:
    """Sign in through the form; return the session's CSRF token (read from a page, as a browser would)."""
    answer = client.post("/ui/sign-in", data={"name": name, "token": token, "next": "/ui/"})
    assert answer.status_code == 302, answer.text
    return csrf_of(client.get("/ui/").text)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


@pytest.fixture
def signed_in(client: FlaskClient) -> tuple[FlaskClient, str]:
    return client, sign_in(client)
