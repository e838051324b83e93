"""The sandbox is written from the docs alone: it must not import the service's own code."""

from __future__ import annotations

import ast
from pathlib import Path

import service.sandbox

ALLOWED_THIRD_PARTY = {"flask", "werkzeug", "requests"}


def test_sandbox_imports_only_stdlib_flask_werkzeug_requests() -> None:
    import sys

    folder = Path(service.sandbox.__file__).parent
    for source in folder.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, f"{source.name}: {name}"
