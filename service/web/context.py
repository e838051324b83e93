"""Access to the process's Runtime from inside a request."""

from __future__ import annotations

from flask import current_app

from service.runtime import Runtime


def runtime() -> Runtime:
    value = current_app.extensions["b24rules"]
    assert isinstance(value, Runtime)
    return value
