"""Operator commands (`python -m service audit|restore|rearm …`) run as subprocesses against a Service's
database and settings, the way an administrator runs them next to the live service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.harness import Service


def run_cli(service: Service, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    """Run one command with the service's environment (plus `env`); fail loudly on an unexpected exit."""
    done = subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=service.workdir,
        env={**service.env, **env},
        capture_output=True,
        text=True,
        timeout=150,  # a hang guard only: a command can take a minute on a loaded 2-core CI machine
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def audit_records(service: Service, *args: str) -> list[dict[str, Any]]:
    """`audit --json` parsed: one JSON object per line, newest first."""
    lines = run_cli(service, "audit", "--json", *args).stdout.splitlines()
    return [json.loads(line) for line in lines]


def write_rules(workdir: Path, text: str) -> Path:
    """A rules folder holding just `text`; pass it as `rules=` to `service_env`."""
    folder = workdir / "rules-src"
    folder.mkdir(exist_ok=True)
    (folder / "rules.yaml").write_text(text)
    return folder
