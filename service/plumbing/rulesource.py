"""The live rule set: reads `B24_RULES_DIR`, and reloads it when the files change.

Change detection hashes the files' contents, so it also sees a Kubernetes ConfigMap update (the
kubelet swaps the `..data` symlink atomically; names stay, targets change). A broken set never
replaces a good one: the last good set keeps running, the problems are logged, sent to Sentry and
shown by /readyz until the files are fixed. A set whose inline `tests:` fail counts as broken too: each
failing test is a problem at its `file:line:col`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from service.core.layering import load_layered
from service.core.rules import RuleSet
from service.core.ruletests import failed_tests

log = logging.getLogger(__name__)

RULE_SUFFIXES = (".yaml", ".yml")
PORTALS_FOLDER = "portals"  # rules/portals/<domain or member id>/: one portal's own rules


class RulesDirError(Exception):
    """The rules folder itself cannot be read."""


def read_rule_files(directory: Path) -> dict[str, str]:
    """`{path: text}` of every rule file in `directory` (not recursive; dot-files are ConfigMap internals).

    Keys are the paths users see (`rules/x.yaml`), also for a ConfigMap's links into `..data`. Only
    files inside the folder are read: a link that leads out of it (to /etc/passwd, a secret mount) is
    refused, so whoever can place a link there cannot have another file's content shown in /readyz,
    logs or Sentry. A ConfigMap's links stay inside (`x.yaml → ..data/x.yaml → ..2024_…/x.yaml`).
    """
    return read_rule_layers(directory, ())[0]


def read_rule_layers(directory: Path, portal: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The shared rule files of `directory`, and those of the portal's own folder
    `directory/portals/<key>/` for the first of `portal`'s keys (domain, member id) that has one.

    Both are read through one resolution of a ConfigMap's `..data` link, so a ConfigMap update never
    mixes the shared files of one version with the portal files of another.
    """
    if not directory.is_dir():
        raise RulesDirError(f"{directory}: rules directory not found")
    inside = directory.resolve()
    source = _ConfigMapSource(directory)
    shared = _read_folder(directory, directory, source, inside)
    folder = portal_folder(directory, portal)
    if folder is None:
        return shared, {}
    return shared, _read_folder(folder, source.pinned(folder), _ConfigMapSource(folder), inside)


def portal_folder(directory: Path, portal: Sequence[str]) -> Path | None:
    """`directory/portals/<key>` for the one key of `portal` naming a folder there, or None; two keys
    of one portal naming two folders is an error (which would win is not for us to guess)."""
    found = [
        directory / PORTALS_FOLDER / key
        for key in portal
        if key and not key.startswith(".") and "/" not in key and (directory / PORTALS_FOLDER / key).is_dir()
    ]
    if len(found) > 1:
        raise RulesDirError(f"{found[0]} and {found[1]} are folders of one portal; keep one")
    return found[0] if found else None


def portal_folders(directory: Path) -> list[Path]:
    """Every portal's own folder under `directory/portals/` (for `check` and `test`)."""
    base = directory / PORTALS_FOLDER
    if not base.is_dir():
        return []
    return [path for path in sorted(base.iterdir()) if path.is_dir() and not path.name.startswith(".")]


def _read_folder(shown: Path, real_dir: Path, source: _ConfigMapSource, inside: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for path in sorted(real_dir.iterdir()):
        if path.name.startswith(".") or path.suffix not in RULE_SUFFIXES:
            continue
        real = source.locate(path).resolve()
        named = shown / path.name
        if not real.is_relative_to(inside):
            raise RulesDirError(f"{named}: links outside the rules folder; refused (not read)")
        if not real.is_file():
            continue
        files[str(named)] = _read(named, real)
    return files


def _read(path: Path, real: Path) -> str:
    try:
        return real.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        # Never quote it: a file that is not text is not a rule file, whatever it holds.
        raise RulesDirError(f"{path}: not UTF-8 text; refused") from None
    except OSError as error:
        raise RulesDirError(f"{path}: cannot read: {error.strerror or type(error).__name__}") from None


class _ConfigMapSource:
    """Reads a ConfigMap mount's files through one resolution of its `..data` link.

    The kubelet swaps `..data` atomically, but a set of files read one by one through it could mix two
    versions if the swap falls between two reads (a spurious broken set: duplicate or missing rules).
    Resolving `..data` once per read pins every file of that read to one version.
    """

    PREFIX = "..data/"

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        data = directory / "..data"
        self._target = data.resolve() if data.is_symlink() and data.is_dir() else None

    def pinned(self, path: Path) -> Path:
        """`path` (a folder below the mount) as it is in the pinned version."""
        if self._target is None:
            return path
        return self._target / path.relative_to(self._directory)

    def locate(self, path: Path) -> Path:
        if self._target is None or not path.is_symlink():
            return path
        link = os.readlink(path)
        return self._target / link[len(self.PREFIX) :] if link.startswith(self.PREFIX) else path


@dataclass(frozen=True)
class RuleStatus:
    ok: bool  # the files on disk are the set that runs
    version: str | None  # hash of the running set
    rules: int
    problems: tuple[str, ...]  # why the files on disk were refused, if they were


class RuleSource:
    """Holds the last good rule set; `maybe_refresh` re-reads at most every `interval` seconds.

    `portal` (an installed portal's domain and member id): the set is the shared folder extended by that
    portal's own folder, `directory/portals/<domain or member id>/` (`service/core/layering.py`).
    """

    def __init__(
        self,
        directory: Path,
        *,
        portal: Sequence[str] = (),
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        on_problems: Callable[[tuple[str, ...]], None] | None = None,
    ) -> None:
        self._directory = directory
        self._portal = tuple(portal)
        self._interval = interval
        self._clock = clock
        self._on_problems = on_problems
        self._lock = threading.Lock()
        self._ruleset: RuleSet | None = None
        self._problems: tuple[str, ...] = ()
        self._seen_digest: str | None = None
        self._checked_at = float("-inf")

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def label(self) -> str:
        """The portal these rules are for (its domain), '' for the shared set."""
        return self._portal[0] if self._portal else ""

    def current(self) -> RuleSet | None:
        self.maybe_refresh()
        return self._ruleset

    def status(self) -> RuleStatus:
        self.maybe_refresh()
        ruleset = self._ruleset
        return RuleStatus(
            ok=ruleset is not None and not self._problems,
            version=ruleset.version if ruleset else None,
            rules=len(ruleset.rules) if ruleset else 0,
            problems=self._problems,
        )

    def maybe_refresh(self) -> None:
        if self._clock() - self._checked_at >= self._interval:
            self.refresh()

    def refresh(self) -> bool:
        """Re-read the folder now; return True when a new rule set was put in place."""
        with self._lock:
            self._checked_at = self._clock()
            try:
                shared, own = read_rule_layers(self._directory, self._portal)
            except RulesDirError as error:
                return self._refuse((str(error),), digest=f"error:{error}")
            digest = hashlib.sha256(repr((sorted(shared.items()), sorted(own.items()))).encode()).hexdigest()
            if digest == self._seen_digest:
                return False
            result = load_layered(shared, own)
            if result.ruleset is None or result.problems:
                return self._refuse(tuple(str(p) for p in result.problems), digest=digest)
            # A set whose own inline tests fail says it does not do what its author meant: refused alike.
            failing = failed_tests(result.ruleset)
            if failing:
                return self._refuse(failing, digest=digest)
            self._seen_digest = digest
            self._ruleset = result.ruleset
            self._problems = ()
            loaded = {"ruleset": result.ruleset.version, "rules": len(result.ruleset.rules)}
            log.info("rules loaded", extra={**loaded, "portal": self.label})
            return True

    def _refuse(self, problems: tuple[str, ...], *, digest: str) -> bool:
        if digest != self._seen_digest:
            self._seen_digest = digest
            self._problems = problems
            keeping = self._ruleset.version if self._ruleset else None
            log.error(
                "rules refused; keeping the last good set",
                extra={"problems": problems, "keeping": keeping, "portal": self.label},
            )
            if self._on_problems is not None:
                self._on_problems(problems)
        return False
