"""The sandbox framework: a synthetic API per tap, served over real HTTP on 127.0.0.1."""

from rest_taps.common.sandbox.data import collector_paused
from rest_taps.common.sandbox.server import (
    Fault,
    Request,
    Response,
    SandboxAPI,
    SandboxServer,
    route,
)

__all__ = [
    "Fault",
    "Request",
    "Response",
    "SandboxAPI",
    "SandboxServer",
    "collector_paused",
    "load_api",
    "route",
]


def load_api(tap: str) -> type[SandboxAPI]:
    """The sandbox API class of a tap, by tap name (`tap-error-tracking`) or package."""
    from rest_taps.common.registry import tap_class

    return tap_class(tap).sandbox_api()
