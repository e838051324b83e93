"""The sandbox is written from the docs alone: it must not import the service's own code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import service.sandbox
from tests.imports import imported_modules, imports_of_file

ALLOWED_THIRD_PARTY = {"flask", "werkzeug", "requests"}
SANDBOX = "service.sandbox"
MODULES = sorted(Path(service.sandbox.__file__).parent.rglob("*.py"))


def allowed(module: str) -> bool:
    """The standard library, the three web libraries, and the sandbox's own modules."""
    if module == SANDBOX or module.startswith(SANDBOX + "."):
        return True
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY


def test_sandbox_modules_are_found() -> None:
    assert {"app.py", "portal.py", "server.py"} <= {path.name for path in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_sandbox_imports_only_stdlib_flask_werkzeug_requests_and_itself(path: Path) -> None:
    assert [module for module in imports_of_file(path) if not allowed(module)] == []


@pytest.mark.parametrize(
    ("source", "isolated"),
    [
        ("from .portal import Portal", True),
        ("from . import faults", True),
        ("from service.sandbox.model import Entry", True),
        ("import werkzeug.serving", True),
        ("from .. import core", False),
        ("from ..core.bitrix import errors", False),
        ("from ..store.journal import Journal", False),
        ("from service.core import facts", False),
        ("import sqlalchemy", False),
    ],
)
def test_the_check_itself(source: str, isolated: bool) -> None:
    assert all(allowed(module) for module in imported_modules(source, SANDBOX)) is isolated
