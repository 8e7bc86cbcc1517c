"""The sandbox framework: a synthetic API per tap, served over real HTTP on 127.0.0.1."""

from taps.common.sandbox.server import (
    Fault,
    Request,
    Response,
    SandboxAPI,
    SandboxServer,
    route,
)

__all__ = ["Fault", "Request", "Response", "SandboxAPI", "SandboxServer", "load_api", "route"]

TAPS = (
    "error_tracking",
    "pipeline_crm",
    "web_experiments",
    "customer_messaging",
    "crm_helpdesk",
)


def load_api(tap: str) -> type[SandboxAPI]:
    """The sandbox API class of a tap, by tap name (`tap-error-tracking`) or package."""
    import importlib

    package = tap.removeprefix("tap-").replace("-", "_")
    module = importlib.import_module(f"taps.{package}.sandbox")
    return module.API
