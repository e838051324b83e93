"""What every command needs: settings that fail in one line, resources, durations for --since."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from service.core.redaction import Redactor
from service.plumbing.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from service.assembly.operator import PortalScope
    from service.assembly.resources import Resources

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


# `--portal`, the same option on every command that acts on or reads one portal (docs/operations.md).
portal_option = click.option(
    "--portal",
    "portal_key",
    default=None,
    metavar="DOMAIN|MEMBER_ID",
    help="Application mode: the portal (domain or member id); needed when several are installed.",
)


def chosen_portal(resources: Resources, portal_key: str | None, *, reading: bool = False) -> PortalScope:
    """The one portal the command acts on, or exit with one line (several installed and no --portal:
    the line names them; --portal in webhook mode is refused)."""
    from service.assembly.operator import operator_portal

    try:
        return operator_portal(resources, portal_key, reading=reading)
    except ConfigError as error:
        raise click.ClickException(f"configuration: {error}") from None
    except ValueError as error:  # PortalChoiceError, or a malformed encryption key
        raise click.ClickException(str(error)) from None


def chosen_listing(resources: Resources, portal_key: str | None) -> PortalScope | None:
    """What a listing shows: one portal, or None for every installed portal's rows (application mode)."""
    if resources.settings.app_mode and not portal_key:
        return None
    return chosen_portal(resources, portal_key, reading=True)


def settings_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as error:
        raise click.ClickException(f"configuration: {error}") from None


def resources_for(
    settings: Settings,
    component: str,
    *,
    read_only: bool = False,
    missing_ok: bool = False,
    existing: bool = False,
) -> Resources:
    """The command's resources. `read_only` commands say on stderr which database they read (password
    masked) and refuse, in one line, to run where there is none instead of creating an empty one —
    unless `missing_ok`: then they go on with an empty store in memory (and say so). `existing`
    commands act on what is stored (restore, rearm, replay): the same refusal, but they may write."""
    from service.assembly.resources import build_resources
    from service.store.db import NoDatabase, shown_url

    if read_only or existing:
        click.echo(f"database: {shown_url(settings.b24_database_url)}", err=True)
    try:
        return build_resources(settings, component=component, read_only=read_only, existing=existing)
    except NoDatabase as error:
        if missing_ok:
            known = "no snapshot, tripped rule or restore is known"
            click.echo(f"{Redactor().text(str(error))}: {known}", err=True)
            return resources_for(settings.model_copy(update={"b24_database_url": "sqlite://"}), component)
        hint = "run it where the service runs, or set B24_DATABASE_URL to the service's database"
        raise click.ClickException(f"{Redactor().text(str(error))}: {hint}") from None
    except SQLAlchemyError as error:
        redactor = Redactor(settings.secret_values())
        raise click.ClickException(
            f"cannot start: B24_DATABASE_URL: {_first_line(error, redactor)}"
        ) from None
    except Exception as error:
        redactor = Redactor(settings.secret_values())
        raise click.ClickException(f"cannot start: {_first_line(error, redactor)}") from None


def _first_line(error: BaseException, redactor: Redactor | None = None) -> str:
    """Drivers explain over several lines; the first says what failed. Masked, in case it holds a secret."""
    lines = str(error).strip().splitlines()
    text = (redactor or _redactor()).text(lines[0]) if lines else ""
    return f"{type(error).__name__}: {text}"


def _redactor() -> Redactor:
    """A redactor that knows the configured secrets when the settings load, and the shapes otherwise."""
    try:
        return Redactor(load_settings().secret_values())
    except ConfigError:
        return Redactor()


@contextmanager
def one_line_failure(what: str, redactor: Redactor) -> Iterator[None]:
    """Turn any failure of the world (a missing setting, the portal, the database) into one masked line
    and exit code 1; click's own errors and exits pass through."""
    try:
        yield
    except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
        raise
    except ConfigError as error:
        raise click.ClickException(f"configuration: {error}") from None
    except Exception as error:
        raise click.ClickException(f"{what} failed: {_first_line(error, redactor)}") from None


def fail_in_one_line(error: Exception) -> NoReturn:
    """The last net of `main`: a failure no command handled still ends as one line, never a traceback."""
    click.echo(f"Error: {_first_line(error)}", err=True)
    sys.exit(1)


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """`--since 2h` / `90m` / `7d` or an ISO date-time (naive means UTC)."""
    if not value:
        return None
    match = _DURATION.match(value.strip())
    if match:
        return now - timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use a duration like 2h, 30m, 7d or an ISO date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)


def metrics_dir_or_exit() -> None:
    """A worker writes its samples into PROMETHEUS_MULTIPROC_DIR when that is set: the folder must exist
    (prometheus_client fails on its first sample otherwise). Created here; never emptied (the web
    processes may share it)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise click.ClickException(f"PROMETHEUS_MULTIPROC_DIR: cannot create {folder}: {reason}") from None
    if not os.access(folder, os.W_OK):
        raise click.ClickException(f"PROMETHEUS_MULTIPROC_DIR: {folder} is not writable")


def ensure_metrics_dir() -> None:
    """Multi-process Prometheus metrics need a shared folder, set before prometheus_client is imported."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="b24rules-metrics-")
    else:
        metrics_dir_or_exit()
        folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        try:
            for name in os.listdir(folder):  # samples of a previous run would be summed in otherwise
                if name.endswith(".db"):
                    os.remove(os.path.join(folder, name))
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise click.ClickException(f"PROMETHEUS_MULTIPROC_DIR: cannot clear {folder}: {reason}") from None
