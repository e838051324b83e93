"""The sandbox portal: an emulator of the Bitrix24 REST API parts b24rules uses, over loopback HTTP.

Written from the Bitrix24 documentation alone; it imports nothing from the rest of ``service``
so a misunderstanding of the API cannot be mirrored on both sides. See docs/sandbox.md.
"""

from __future__ import annotations

from .app import create_sandbox_app
from .control import apply_config
from .errors import ApiError
from .faults import FaultConfig, ForcedError
from .portal import Portal, PortalConfig
from .sender import AppAuth, EventSender, EventTarget, event_body
from .server import SandboxServer, run_sandbox, seed_demo

__all__ = [
    "ApiError",
    "AppAuth",
    "EventSender",
    "EventTarget",
    "FaultConfig",
    "ForcedError",
    "Portal",
    "PortalConfig",
    "SandboxServer",
    "apply_config",
    "create_sandbox_app",
    "event_body",
    "run_sandbox",
    "seed_demo",
]
