"""What a module of ours imports, as absolute module names: relative imports (`from . import x`,
`from ..store import journal`) are resolved against the importing file's package, so the purity,
isolation and layering tests cannot be walked around with a leading dot. Pytest-free."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository: `service` is a folder in it


def package_of(path: Path) -> str:
    """The package a file's relative imports start from: its folder, as a dotted name."""
    return ".".join(path.resolve().parent.relative_to(ROOT).parts)


def module_of(path: Path) -> str:
    parts = path.resolve().relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, package: str) -> list[str]:
    """Every module `source` imports; `from P import a, b` also names `P.a` and `P.b` when P is
    reached with dots only (they may be submodules)."""
    return [name for node in ast.walk(ast.parse(source)) for name in _names(node, package)]


def imports_of_file(path: Path) -> list[str]:
    return imported_modules(path.read_text(), package_of(path))


def _names(node: ast.AST, package: str) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level == 0:
            yield node.module or ""
            return
        parts = package.split(".") if package else []
        if node.level - 1 > len(parts) - 1:  # above the top package: no module of ours at all
            yield "." * node.level + (node.module or "")
            return
        base = ".".join(parts[: len(parts) - (node.level - 1)])
        if node.module:
            yield f"{base}.{node.module}"
        else:
            yield from (f"{base}.{alias.name}" for alias in node.names)
