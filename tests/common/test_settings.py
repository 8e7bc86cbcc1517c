"""Settings: numbers as JSON files and the environment give them, bounds, required
credentials and URL, each failure one line naming the setting."""

from __future__ import annotations

import decimal

import pytest
from singer_sdk.exceptions import ConfigValidationError

from rest_taps.common.settings import normalize, number, validate
from rest_taps.error_tracking.tap import TapErrorTracking
from tests.support import run_cli

SCHEMA = TapErrorTracking.config_jsonschema
GOOD = {"api_key": "k", "api_url": "https://api.example.com"}


def check(config: dict) -> list[str]:
    config = dict(config)
    return normalize(config, SCHEMA) + validate(config, SCHEMA, ["api_key"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (decimal.Decimal("2.5"), 2.5),  # a JSON config file read by the SDK
        ("2.5", 2.5),  # `--config ENV`
        (" 3 ", 3),
        (7, 7),
    ],
)
def test_fractional_numbers_from_files_and_the_environment(value: object, expected: float) -> None:
    config = {**GOOD, "request_timeout": value, "backoff_factor": value}
    assert normalize(config, SCHEMA) == []
    assert config["request_timeout"] == expected
    assert type(config["backoff_factor"]) is type(expected)


@pytest.mark.parametrize(
    ("change", "line"),
    [
        ({"max_retries": "2.5"}, "Setting 'max_retries' must be a whole number, got '2.5'."),
        ({"max_retries": "many"}, "Setting 'max_retries' must be a number, got 'many'."),
        ({"request_timeout": "inf"}, "Setting 'request_timeout' must be a number, got 'inf'."),
        ({"max_retries": 100000}, "Setting 'max_retries' must be between 0 and 20, got 100000."),
        ({"max_concurrent_requests": 0}, "Setting 'max_concurrent_requests' must be between 1"),
        ({"max_wait_seconds": 10**9}, "Setting 'max_wait_seconds' must be between 0 and 86400"),
        ({"api_key": ""}, "Setting 'api_key' is required (or set sandbox: true"),
        ({"api_url": None}, "Setting 'api_url' is required (or set sandbox: true"),
        ({"api_url": "ftp://h"}, "Setting 'api_url' must be an http(s) URL"),
        ({"api_url": "https://h:99999"}, "Setting 'api_url' must be an http(s) URL"),
        ({"api_url": "https://h:port"}, "Setting 'api_url' must be an http(s) URL"),
        ({"start_date": "soon"}, "Setting 'start_date' must be an ISO 8601 date-time"),
        ({"schema_evolution": "sometimes"}, "Setting 'schema_evolution' must be one of"),
    ],
)
def test_each_bad_setting_is_one_line_naming_it(change: dict, line: str) -> None:
    (error,) = check({**GOOD, **change})
    assert error.startswith(line)


def test_sandbox_mode_needs_neither_credentials_nor_url() -> None:
    assert check({"sandbox": True}) == []
    tap = TapErrorTracking(config={"sandbox": True, "schema_evolution": "off"})
    assert tap.config["api_key"], "the sandbox supplies its own credential"


def test_credentials_and_url_are_required_in_the_about_output() -> None:
    assert set(SCHEMA["required"]) == {"api_key", "api_url"}
    with pytest.raises(ConfigValidationError, match="'api_key'"):
        TapErrorTracking(config={"api_url": "https://api.example.com"})


def test_a_cli_run_with_numbers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--config ENV` gives every value as text; a bad one fails before any request."""
    monkeypatch.setenv("TAP_ERROR_TRACKING_BACKOFF_FACTOR", "0.5")
    monkeypatch.setenv("TAP_ERROR_TRACKING_MAX_RETRIES", "-1")
    proc = run_cli(TapErrorTracking.name, {"sandbox": True}, env_config=True)
    assert proc.returncode == 1
    assert "Setting 'max_retries' must be between 0 and 20, got -1." in proc.stderr
    assert "Setting 'backoff_factor'" not in proc.stderr, "0.5 is a good number"
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "name",
    [
        n
        for n, spec in SCHEMA["properties"].items()
        if "default" in spec and {"integer", "number"} & set(spec["type"])
    ],
)
def test_a_numeric_setting_left_out_takes_the_default_the_tap_announces(name: str) -> None:
    assert number({}, name) == SCHEMA["properties"][name]["default"]
    assert number({name: 7}, name) == 7
