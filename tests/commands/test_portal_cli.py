"""Operator commands with several installed portals (application mode), run as real processes: those
that act on one portal need `--portal` and fail naming the portals without it; listings show every
portal with a PORTAL column, or one with `--portal`; webhook mode refuses `--portal` in one line."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from service.core.events import TaskEvent
from service.store.audit import AuditDraft, AuditLog
from service.store.breakers import Breakers
from service.store.db import open_database
from service.store.journal import Journal
from service.store.portals import Installation, Portals
from service.store.sealing import Sealer
from tests.commands.test_failures_cli import ROOT, assert_one_line_failure, b24rules

ALPHA, BETA = ("alpha.example", "a" * 32), ("beta.example", "b" * 32)
NOW = datetime.now(UTC)
DRAFT = AuditDraft(691, 1, "drop-zero", "v1", "enforce", "shadow", {"SECONDS": "0"}, [], "why", "event:1")


@dataclass
class Installed:
    folder: Path
    env: dict[str, str]
    dead: dict[str, int]  # member id → the id of its dead event


@pytest.fixture
def installed() -> Iterator[Installed]:
    """Two active portals with an audit row, a dead event and a tripped rule each (the same task id)."""
    folder = Path(tempfile.mkdtemp(prefix="b24rules-portal-cli-"))
    shutil.copytree(ROOT / "rules", folder / "rules")
    key = Fernet.generate_key().decode()
    engine = open_database(f"sqlite:///{folder / 'b24.sqlite3'}")
    portals, journal, dead = Portals(engine, Sealer(key)), Journal(engine), {}
    for domain, member in (ALPHA, BETA):
        endpoint = f"https://{domain}/rest/"
        install = Installation(
            member, domain, endpoint, endpoint, "app-t", "acc-t", "ref-t", NOW + timedelta(hours=1)
        )
        portals.install(install, NOW)
        AuditLog(engine, member).record([DRAFT], NOW)
        Breakers(engine, member).trip("drop-zero-duration-entries", "too many", NOW)
        journal.append(TaskEvent("ONTASKUPDATE", 691, 1, "7", domain, member, "app-t"), NOW)
        [claim] = journal.for_portal(member).claim("w", NOW, lease=timedelta(seconds=30))
        journal.for_portal(member).dead_letter(claim, NOW, error="ACCESS_DENIED (HTTP 403)")
        dead[member] = claim.event_ids[0]
    engine.dispose()
    env = {
        "B24_APP_CLIENT_ID": "local.x",
        "B24_APP_CLIENT_SECRET": "client-secret-77",
        "B24_ENCRYPTION_KEY": key,
        "B24_PUBLIC_URL": "https://b24rules.example",
    }
    try:
        yield Installed(folder, env, dead)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize(
    "args",
    [
        ["restore", "1"],
        ["replay", "--failed"],
        ["rearm", "drop-zero-duration-entries"],
        ["sweep"],
        ["simulate", "--task", "691"],
        ["diff", "rules", "--from-audit"],
    ],
)
def test_a_command_on_one_portal_names_the_installed_ones_without_portal(
    installed: Installed, args: list[str]
) -> None:
    done = b24rules(installed.folder, *args, **installed.env)
    assert_one_line_failure(done, "several portals are installed (alpha.example, beta.example)", "--portal")


def test_listings_show_every_portal_with_a_column_or_the_one_named(installed: Installed) -> None:
    every = b24rules(installed.folder, "audit", **installed.env)
    alpha = b24rules(installed.folder, "audit", "--portal", ALPHA[0], **installed.env)
    dead = b24rules(installed.folder, "dead-letters", **installed.env)
    dead_beta = b24rules(installed.folder, "dead-letters", "--portal", BETA[1], **installed.env)

    [header, *rows] = every.stdout.splitlines()
    assert header.split()[:3] == ["ID", "PORTAL", "WHEN"]
    assert sorted(row.split()[1] for row in rows) == [ALPHA[0], BETA[0]]
    [header, row] = alpha.stdout.splitlines()
    assert "PORTAL" not in header
    assert row.split()[0] == "1"  # alpha's record, beta's (id 2) left out
    dead_rows = [line.split() for line in dead.stdout.splitlines()[1:3]]
    assert sorted((r[1], r[2]) for r in dead_rows) == sorted(
        (domain, str(installed.dead[member])) for domain, member in (ALPHA, BETA)
    )
    assert "replay --failed --portal DOMAIN" in dead.stdout
    beta_rows = [line.split()[:2] for line in dead_beta.stdout.splitlines() if line.startswith("691")]
    assert beta_rows == [["691", str(installed.dead[BETA[1]])]]  # alpha's task 691 is another task


def test_acting_commands_touch_only_the_named_portal(installed: Installed) -> None:
    alpha_event = str(installed.dead[ALPHA[1]])
    wrong = b24rules(installed.folder, "replay", alpha_event, "--portal", BETA[0], **installed.env)
    rearmed = b24rules(
        installed.folder, "rearm", "drop-zero-duration-entries", "--portal", ALPHA[0], **installed.env
    )
    replayed = b24rules(installed.folder, "replay", "--failed", "--portal", BETA[0], **installed.env)

    assert_one_line_failure(wrong, f"no stored event of beta.example with id {alpha_event}; nothing queued")
    assert (
        rearmed.stdout.strip()
        == "rule 'drop-zero-duration-entries' rearmed on alpha.example: it enforces again"
    )
    assert replayed.stdout.strip() == "queued 1 event(s) again"
    engine = open_database(f"sqlite:///{installed.folder / 'b24.sqlite3'}")
    assert not Breakers(engine, ALPHA[1]).is_tripped("drop-zero-duration-entries")
    assert Breakers(engine, BETA[1]).is_tripped("drop-zero-duration-entries")
    journal = Journal(engine)
    assert journal.get(installed.dead[ALPHA[1]]).status == "dead"  # type: ignore[union-attr]
    assert journal.get(installed.dead[BETA[1]]).status == "pending"  # type: ignore[union-attr]
    engine.dispose()


def test_webhook_mode_refuses_portal_in_one_line(installed: Installed) -> None:
    done = b24rules(installed.folder, "audit", "--portal", ALPHA[0])
    assert_one_line_failure(done, "--portal is for application mode (B24_APP_CLIENT_ID)")
