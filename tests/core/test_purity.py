"""service/core stays pure: no I/O libraries, no environment, no clock, nothing of ours outside core."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.imports import imported_modules, imports_of_file

CORE = Path(__file__).resolve().parents[2] / "service" / "core"
MODULES = sorted(CORE.rglob("*.py"))

# Modules that compute without touching the world (urllib only for its parse module; re2 is the
# linear-time regex engine of `matches`, core/regexes.py).
ALLOWED = {
    "__future__", "base64", "collections", "dataclasses", "datetime", "decimal", "difflib", "enum",
    "functools", "hashlib", "hmac", "itertools", "json", "math", "operator", "re", "string", "typing",
    "urllib.parse", "yaml", "re2",
}  # fmt: skip
FORBIDDEN_CALLS = {"now", "utcnow", "today", "open", "print", "input", "getenv", "sleep", "time", "monotonic"}


def allowed(module: str) -> bool:
    if module == "service.core" or module.startswith("service.core."):
        return True
    return module in ALLOWED or module.split(".")[0] in ALLOWED - {"urllib.parse"}


def called_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def test_core_modules_are_found() -> None:
    assert {"engine.py", "loader.py", "events.py", "facts.py"} <= {path.name for path in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(CORE)))
def test_module_imports_only_pure_modules(path: Path) -> None:
    assert [module for module in imports_of_file(path) if not allowed(module)] == []


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(CORE)))
def test_module_calls_no_clock_or_io(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    assert called_names(tree) & FORBIDDEN_CALLS == set()


@pytest.mark.parametrize(
    ("source", "pure"),
    [
        ("import os", False),
        ("from flask import Flask", False),
        ("import requests", False),
        ("import sqlalchemy.orm", False),
        ("import sentry_sdk", False),
        ("import time", False),
        ("from urllib.request import urlopen", False),
        ("from service.store import journal", False),
        ("from service.core.facts import FACT_TYPES", True),
        ("from urllib.parse import parse_qsl", True),
        ("import re", True),
        # relative imports, as written in service/core/bitrix/<module>.py
        ("from . import calls", True),
        ("from .errors import NotFound", True),
        ("from ..facts import parse_int", True),
        ("from .. import facts", True),
        ("from ...store import journal", False),
        ("from ... import store", False),
        ("from ...plumbing.clock import utcnow", False),
        ("from .... import anything", False),
    ],
)
def test_the_import_check_itself(source: str, pure: bool) -> None:
    modules = imported_modules(source, "service.core.bitrix")
    assert all(allowed(module) for module in modules) is pure


@pytest.mark.parametrize(
    "source", ["datetime.now()", "datetime.now(UTC)", "date.today()", "open('x')", "os.getenv('X')"]
)
def test_the_call_check_itself(source: str) -> None:
    assert called_names(ast.parse(source)) & FORBIDDEN_CALLS
