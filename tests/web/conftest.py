"""The Flask app on real Resources: a SQLite file, the shipped rules, no logging or Sentry set-up."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.assembly.resources import Resources, build_resources
from service.assembly.wiring import web_parts
from service.plumbing.settings import load_settings
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
