"""The `b24rules` command: one click group; each command lives in service/commands/."""

from __future__ import annotations

import sys

import click

from service.commands import doctor, operate, portals, rules, run
from service.commands.common import fail_in_one_line


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="b24rules")
def cli() -> None:
    """b24rules: delete Bitrix24 task time entries selected by YAML rules — safely, and reversibly."""


for command in (*run.COMMANDS, *rules.COMMANDS, *operate.COMMANDS, *portals.COMMANDS, *doctor.COMMANDS):
    cli.add_command(command)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # a failure no command turned into its one line: still one line
        fail_in_one_line(error)
