"""The method registry: REST method name → handler, plus the call/outcome types handlers share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import Webhook
from .params import Params
from .portal import Portal


@dataclass
class Call:
    portal: Portal
    webhook: Webhook
    method: str
    params: Params
    seq: int  # request-log sequence number of this call


@dataclass
class Outcome:
    result: Any
    total: int | None = None
    next: int | None = None


Handler = Callable[[Call], Outcome]
METHODS: dict[str, Handler] = {}
SCOPES: dict[str, str] = {}  # method → the scope a webhook needs for it ("basic": every webhook)


def method(name: str, scope: str = "task") -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name] = handler
        SCOPES[name] = scope
        return handler

    return register
