"""Access to the process's Runtime from inside a request."""

from __future__ import annotations

from flask import current_app

from service.runtime import Runtime
from service.web.intake import GroupCommit

INTAKE = "b24rules.intake"


def runtime() -> Runtime:
    value = current_app.extensions["b24rules"]
    assert isinstance(value, Runtime)
    return value


def intake() -> GroupCommit:
    value = current_app.extensions[INTAKE]
    assert isinstance(value, GroupCommit)
    return value
