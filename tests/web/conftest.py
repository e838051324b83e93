"""The Flask app on real Resources: a SQLite file, the shipped rules, no logging or Sentry set-up."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

from service.assembly.resources import Resources, build_resources
from service.assembly.webwiring import web_parts
from service.plumbing.settings import load_settings
from service.sandbox import Portal, PortalConfig, SandboxServer
from service.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "sandbox" / "samples"
TOKEN = "k3v9w2x8y7z6q5p4o3n2m1l0k9j8h7g6"  # the samples' application token
MEMBER_ID = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"  # the samples' member id
FORM = "application/x-www-form-urlencoded"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@pytest.fixture
def folders() -> Iterator[tuple[Path, Path]]:
    """(rules, database) folders, apart so the database can vanish while the rules stay.

    Not tmp_path: pytest sessions running at once on this machine prune each other's basetemp."""
    rules_parent = Path(tempfile.mkdtemp(prefix="b24rules-web-rules-"))
    database = Path(tempfile.mkdtemp(prefix="b24rules-web-db-"))
    shutil.copytree(ROOT / "rules", rules_parent / "rules")
    try:
        yield rules_parent / "rules", database
    finally:
        shutil.rmtree(rules_parent, ignore_errors=True)
        shutil.rmtree(database, ignore_errors=True)


@pytest.fixture
def make_resources(folders: tuple[Path, Path]) -> Iterator[Callable[..., Resources]]:
    rules, database = folders
    built: list[Resources] = []

    def make(**overrides: object) -> Resources:
        defaults: dict[str, object] = {
            "b24_webhook_url": "http://127.0.0.1:9/rest/1/webhookcode123/",
            "b24_application_token": TOKEN,
            "b24_rules_dir": rules,
            "b24_database_url": f"sqlite:///{database / 'b24rules.sqlite3'}",
        }
        settings = load_settings(**{**defaults, **overrides})
        resources = build_resources(settings, component="test", configure=False)
        built.append(resources)
        return resources

    yield make
    for resources in built:
        resources.engine.dispose()


@pytest.fixture
def resources(make_resources: Callable[..., Resources]) -> Resources:
    return make_resources()


@pytest.fixture
def app(resources: Resources) -> Flask:
    return create_app(web_parts(resources))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# Application mode: a sandbox portal as OUR OAuth server vouches for it, and the resources to install it.
MEMBER = "m" * 32
CLIENT_ID, SECRET = "local.sandbox0000000000.00000000", "sandbox-client-secret"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(Portal(config=PortalConfig(member_id=MEMBER, application_token=""))).start()
    server.portal.app.installed = True
    yield server
    server.stop()


def app_settings(oauth: SandboxServer) -> dict[str, object]:
    """Application mode's settings, with `oauth` as our OAuth server (a fresh encryption key)."""
    return {
        "b24_app_client_id": CLIENT_ID,
        "b24_app_client_secret": SECRET,
        "b24_encryption_key": Fernet.generate_key().decode(),
        "b24_oauth_url": oauth.url + "/oauth/token/",
        "b24_public_url": "http://127.0.0.1:9",
    }


@pytest.fixture
def app_mode(make_resources: Callable[..., Resources], sandbox: SandboxServer) -> Resources:
    return make_resources(**app_settings(sandbox))


def post_install(client: FlaskClient, sandbox: SandboxServer, **claims: str) -> tuple[int, str]:
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
