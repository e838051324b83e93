"""Every import between the wings of `service/` points down (relative imports resolved):

    __main__ → cli → commands → assembly → web | pipeline | operations → bitrix → store → plumbing → core

A wing may import its own modules and any wing below it; the three wings of one level do not import
each other. The sandbox imports nothing of the service (tests/sandbox/test_isolation.py), and only the
commands start it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.imports import ROOT, imported_modules, imports_of_file, module_of

SERVICE = ROOT / "service"
LAYERS = (
    ("__main__",),
    ("cli",),
    ("commands",),
    ("assembly",),
    ("web", "pipeline", "operations"),
    ("bitrix",),
    ("store",),
    ("plumbing",),
    ("core",),
)
DEPTH = {wing: depth for depth, wings in enumerate(LAYERS) for wing in wings}
SANDBOX_USERS = {"commands"}
MODULES = sorted(path for path in SERVICE.rglob("*.py") if path != SERVICE / "__init__.py")


def wing_of(module: str) -> str:
    """`service.pipeline.worker` → `pipeline`; `service.cli` → `cli`; `service` itself → ``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def wrong_way(importer: str, imported: str) -> bool:
    """Whether module `importer` may not import `imported` (only modules of ours are judged)."""
    if imported != "service" and not imported.startswith("service."):
        return False
    source, target = wing_of(importer), wing_of(imported)
    if source == target:
        return False
    if "sandbox" in (source, target):
        return not (target == "sandbox" and source in SANDBOX_USERS)
    if source not in DEPTH or target not in DEPTH:
        return True  # a wing this test does not know yet: give it its place in LAYERS
    return DEPTH[target] <= DEPTH[source]


def test_every_wing_is_placed() -> None:
    wings = {wing_of(module_of(path)) for path in MODULES}
    assert wings - {"sandbox"} == set(DEPTH)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(SERVICE)))
def test_imports_point_down(path: Path) -> None:
    importer = module_of(path)
    assert [m for m in imports_of_file(path) if wrong_way(importer, m)] == []


@pytest.mark.parametrize(
    ("importer", "package", "source", "allowed"),
    [
        ("service.commands.run", "service.commands", "from service.assembly import wiring", True),
        ("service.commands.run", "service.commands", "from ..sandbox import SandboxServer", True),
        ("service.pipeline.worker", "service.pipeline", "from .rounds import Processor", True),
        ("service.pipeline.worker", "service.pipeline", "from ..store.journal import Journal", True),
        ("service.bitrix.limiter", "service.bitrix", "from service.store import ratebucket", True),
        ("service.pipeline.worker", "service.pipeline", "from ..assembly import wiring", False),
        ("service.pipeline.worker", "service.pipeline", "from ..operations import restoration", False),
        ("service.store.audit", "service.store", "from service.bitrix import portal", False),
        ("service.core.engine", "service.core", "from .. import plumbing", False),
        ("service.plumbing.clock", "service.plumbing", "from ..store import db", False),
        ("service.web.app", "service.web", "from ..sandbox import SandboxServer", False),
        ("service.sandbox.app", "service.sandbox", "from ..core import facts", False),
        ("service.cli", "service", "from .commands import run", True),
    ],
)
def test_the_check_itself(importer: str, package: str, source: str, allowed: bool) -> None:
    assert any(wrong_way(importer, m) for m in imported_modules(source, package)) is not allowed
