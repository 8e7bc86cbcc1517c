"""Secrets never reach any output, in any encoding a request or a log line may give them.

The credentials here are awkward on purpose: a space, `+`, `/`, `&`, `=` and a non-ASCII
letter, so that the raw value, its URL encodings (`quote`, `quote_plus`) and a Basic
pair's base64 are all different strings. The sandbox accepts exactly these credentials,
so every request really carries them, and fails (dropped connections, then 503s) with
debug logging on, so that retries, urllib3's request lines and the final error all print.
"""

from __future__ import annotations

import base64
import io
import logging
from urllib.parse import quote, quote_plus

import pytest

from rest_taps.common import redaction
from rest_taps.common.sandbox import SandboxServer
from tests.support import api_class, available_taps, config_for, run_cli, tap_class


def awkward(setting: str) -> str:
    return f"Zq8 a+b/c&d=é-{setting}"


def forms(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote_plus(value), quote(value)}


@pytest.mark.parametrize("package", available_taps())
def test_secrets_never_printed(package: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tap_cls = tap_class(package)
    secrets = {setting: awkward(setting) for setting in tap_cls.auth.settings}
    api = api_class(package)(records=20)
    api.credentials = secrets  # the sandbox accepts exactly these
    with SandboxServer(api) as server:
        server.inject("*", kind="drop", times=2)
        server.inject("*", kind="status", status=503, times=-1)
        monkeypatch.setenv("LOGLEVEL", "DEBUG")
        proc = run_cli(tap_cls.name, {**config_for(server, max_retries=2), **secrets})
        seen = server.requests[0]
    assert proc.returncode == 1
    assert "DEBUG" in proc.stderr
    carried = f"{seen.query}{seen.headers}"
    pair = base64.b64encode(":".join(secrets.values()).encode()).decode()
    assert any(s in carried for s in secrets.values()) or pair in carried, "sent for real"
    output = proc.stdout + proc.stderr
    for value in secrets.values():
        for form in forms(value):
            assert form not in output
    assert pair not in output
    assert "Zq8" not in output


def test_the_basic_pair_the_server_sees_is_masked() -> None:
    """The header a Basic-auth API receives is exactly a string the redactor masks."""
    package = next(p for p in available_taps() if tap_class(p).auth.placement == "basic")
    tap_cls = tap_class(package)
    secrets = {setting: awkward(setting) for setting in tap_cls.auth.settings}
    api = api_class(package)(records=5)
    api.credentials = secrets
    with SandboxServer(api) as server:
        proc = run_cli(tap_cls.name, {**config_for(server), **secrets})
        header = server.requests[0].headers["authorization"]
    assert proc.returncode == 0, proc.stderr[-1000:]
    scheme, token = header.split(" ", 1)
    assert scheme == "Basic"
    tap_cls(config={**config_for(server), **secrets})  # registers the tap's secrets
    assert token in redaction.REDACTOR, "the very header value is registered for masking"
    stream = io.StringIO()
    logger = logging.getLogger("test-basic-pair")
    logger.addHandler(logging.StreamHandler(stream))
    logger.warning("sent %s with header %s", secrets, header)
    printed = stream.getvalue()
    assert token not in printed
    assert "Basic ***" in printed
