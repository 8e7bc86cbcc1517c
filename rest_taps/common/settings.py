"""Settings shared by every tap, and their validation.

Every tap has the same connection settings (`api_url`, `sandbox`, time-outs, retries, ...);
only its credentials differ. `config_schema` builds a tap's JSON Schema from both; the
credentials and `api_url` are required (in sandbox mode the tap supplies them itself).
`normalize` turns numbers that arrive as `Decimal` (JSON config files) or strings (the
environment) into numbers, and `validate` checks what a JSON Schema cannot say well, so
that bad config fails before the first request with one line naming the setting.
`unknown` names settings the tap does not have (a misspelling, say) and the closest it has.
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import typing as t
from dataclasses import dataclass
from urllib.parse import urlsplit

from singer_sdk import typing as th

from rest_taps.common.times import TIME_FORMATS

EXAMPLE_API_URL = "https://api.example.com"
SCHEMA_EVOLUTION = ("auto", "include", "exclude", "off")
STREAM_FAILURES = ("continue", "stop")


@dataclass(frozen=True)
class Number:
    """A numeric setting: its type, default, bounds and meaning."""

    name: str
    integer: bool
    default: float
    low: float
    high: float
    title: str
    description: str

    def property(self) -> th.Property:
        kind = th.IntegerType if self.integer else th.NumberType
        return th.Property(
            self.name,
            kind(minimum=self.low, maximum=self.high),
            default=self.default,
            title=self.title,
            description=f"{self.description} ({self.low:g} to {self.high:g})",
        )


NUMBERS = (
    Number(
        "request_timeout",
        False,
        60,
        0.001,
        3600,
        "Request time-out",
        "Seconds a request may take in all (connecting, waiting, reading the whole body) "
        "before it counts as failed and is retried.",
    ),
    Number(
        "max_retries",
        True,
        3,
        0,
        20,
        "Maximum retries",
        "Retries of a failed request (429, 500, 502, 503, 504, network errors).",
    ),
    Number(
        "backoff_factor",
        False,
        2,
        0,
        300,
        "Backoff factor",
        "Wait before retry n is backoff_factor * 2**(n-1) seconds.",
    ),
    Number(
        "max_wait_seconds",
        False,
        300,
        0,
        86_400,
        "Maximum wait",
        "The longest the tap waits when the API asks it to (Retry-After, a rate-limit "
        "reset); a longer wait ends the run with an error saying what the API asked for.",
    ),
    Number(
        "max_concurrent_requests",
        True,
        16,
        1,
        64,
        "Maximum concurrent requests",
        "Requests in flight at once across streams, pages and child streams (1 = one at "
        "a time, in the order of a serial run).",
    ),
    Number(
        "max_response_mb",
        False,
        256,
        1,
        4096,
        "Maximum response size (MB)",
        "A response body larger than this, once decompressed, ends the run with an error.",
    ),
    Number(
        "max_pages",
        True,
        1_000_000,
        1,
        100_000_000,
        "Maximum pages",
        "Pages one stream (or one parent's child stream) may read in a run; more ends the "
        "run with an error, as a guard against an API that pages forever.",
    ),
)


_DEFAULTS = {number.name: number.default for number in NUMBERS}


def number(config: t.Mapping[str, t.Any], name: str) -> float:
    """The value of numeric setting `name`: the config's, else its default above."""
    return float(config.get(name, _DEFAULTS[name]))


def common_properties() -> list[th.Property]:
    """The connection settings every tap has."""
    return [
        th.Property(
            "api_url",
            th.StringType,
            title="API URL",
            description=(
                f"Base URL of the API, such as {EXAMPLE_API_URL} (the paths the tap reads "
                "start with /v1/). Required unless `sandbox` is true."
            ),
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description=(
                "ISO 8601 date-time. Incremental streams read records from here on their "
                "first run; later runs start from the bookmark."
            ),
        ),
        th.Property(
            "end_date",
            th.DateTimeType,
            title="End date",
            description="ISO 8601 date-time. Upper bound for time-windowed requests.",
        ),
        th.Property(
            "sandbox",
            th.BooleanType,
            default=False,
            title="Sandbox mode",
            description=(
                "Serve a deterministic synthetic copy of the API on 127.0.0.1 and read "
                "from it; api_url and credentials are ignored."
            ),
        ),
        *(number.property() for number in NUMBERS),
        th.Property(
            "schema_evolution",
            th.StringType(allowed_values=list(SCHEMA_EVOLUTION)),
            default="auto",
            title="Schema evolution",
            description=(
                "Properties the schema lacks are added (inferred from their values) and "
                "values that break their declared type go to a `<name>__v_<type>` property. "
                "`auto`: new properties are added when every declared property is selected, "
                "left out when some are deselected; `include`: always added; `exclude`: "
                "never added; `off`: the declared schema only (unknown properties dropped, "
                "values conformed)."
            ),
        ),
        th.Property(
            "stream_failures",
            th.StringType(allowed_values=list(STREAM_FAILURES)),
            default="continue",
            title="Stream failures",
            description=(
                "What a stream that fails for good (an error left after retries, a 4xx, a "
                "record it cannot read) does to the others. `continue`: it stops alone, the "
                "other streams finish and keep their state, and the run exits non-zero with "
                "one line per failed stream; `stop`: the whole run stops at the first failure. "
                "A rejected credential always stops the run."
            ),
        ),
        th.Property(
            "time_format",
            th.StringType(allowed_values=list(TIME_FORMATS)),
            default="rfc3339",
            title="Time format",
            description=(
                "`rfc3339`: every time property is an RFC 3339 date-time in UTC (loaders "
                "make it a timestamp column); `raw`: times as the API sends them (Unix "
                "seconds, or the API's own text)."
            ),
        ),
        th.Property(
            "user_agent",
            th.StringType,
            title="User agent",
            description="User-Agent header sent with every request.",
        ),
        th.Property(
            "log_metrics",
            th.BooleanType,
            default=False,
            title="Log metrics",
            description=(
                "Log the Singer SDK's METRIC lines: one per HTTP request (its duration), "
                "request and record counts and sync times, per stream and per parent of a "
                "child stream. Off, each stream logs one line when it starts and one when it "
                "ends (records, requests, seconds, schema changes), and one every 30 s while "
                "it runs; LOGLEVEL=DEBUG logs the METRIC lines too."
            ),
        ),
    ]


def credential_property(name: str, description: str) -> th.Property:
    """A secret setting, required unless in sandbox mode."""
    return th.Property(
        name,
        th.StringType,
        secret=True,
        title=name,
        description=f"{description} Required unless `sandbox` is true.",
    )


def config_schema(own: t.Sequence[th.Property]) -> dict:
    """The tap's JSON Schema: its own settings (credentials first), then the common
    ones. The credentials (secret settings) and `api_url` are required."""
    schema = th.PropertiesList(*own, *common_properties()).to_dict()
    secret = [name for name, spec in schema["properties"].items() if spec.get("secret")]
    schema["required"] = [*secret, "api_url"]
    return schema


def normalize(config: dict[str, t.Any], schema: dict) -> list[str]:
    """Turn numeric settings given as `Decimal` or text into numbers, in place; return
    one line per value that is not a number."""
    errors = []
    for name, spec in schema.get("properties", {}).items():
        kinds = spec.get("type", [])
        value = config.get(name)
        if value is None or isinstance(value, bool) or not {"integer", "number"} & set(kinds):
            continue
        try:
            number = decimal.Decimal(str(value).strip())
        except decimal.InvalidOperation:
            number = decimal.Decimal("NaN")
        if not number.is_finite():
            errors.append(f"Setting '{name}' must be a number, got {value!r}.")
            continue
        if "integer" in kinds and "number" not in kinds:
            if number != number.to_integral_value():
                errors.append(f"Setting '{name}' must be a whole number, got {value!r}.")
                continue
            config[name] = int(number)
        else:
            config[name] = int(number) if number == number.to_integral_value() else float(number)
    return errors


def parse_datetime(value: str) -> dt.datetime:
    """Parse an ISO 8601 date-time (or date); naive values are taken as UTC."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def unknown(config: t.Mapping[str, t.Any], schema: dict) -> list[str]:
    """One line per setting of `config` the tap does not have, with the closest it has."""
    known = list(schema.get("properties", {}))
    lines = []
    for name in sorted(set(config) - set(known)):
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "."
        lines.append(f"Setting '{name}' is not a setting of this tap and is ignored{hint}")
    return lines


def validate(
    config: t.Mapping[str, t.Any],
    schema: dict,
    credentials: t.Sequence[str],
    *,
    path_prefix: str = "",
) -> list[str]:
    """Return one line per invalid setting, each naming the setting. `path_prefix` is the
    path every request starts with (`/v1`), which `api_url` must not end in."""
    errors: list[str] = []
    if not config.get("sandbox"):
        errors.extend(
            f"Setting '{name}' is required (or set sandbox: true to use the built-in sandbox)."
            for name in (*credentials, "api_url")
            if not config.get(name)
        )
        if config.get("api_url"):
            errors.extend(url_errors(str(config["api_url"]), path_prefix))
    dates: dict[str, dt.datetime] = {}
    for name in ("start_date", "end_date"):
        if config.get(name) is None:
            continue
        try:
            dates[name] = parse_datetime(str(config[name]))
        except ValueError:
            errors.append(
                f"Setting '{name}' must be an ISO 8601 date-time such as "
                f"2024-01-31T00:00:00Z, got {config[name]!r}."
            )
    if len(dates) == 2 and dates["end_date"] < dates["start_date"]:
        errors.append("Setting 'end_date' must not be before 'start_date'.")
    for name, spec in schema.get("properties", {}).items():
        value = config.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        low, high = spec.get("minimum"), spec.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            errors.append(f"Setting '{name}' must be between {low:g} and {high:g}, got {value!r}.")
    for name, spec in schema.get("properties", {}).items():
        allowed = spec.get("enum")
        if allowed and config.get(name) not in (None, *allowed):
            errors.append(
                f"Setting '{name}' must be one of {', '.join(allowed)}, got {config[name]!r}."
            )
    return errors


def url_errors(url: str, path_prefix: str = "") -> list[str]:
    """Why `url` cannot be an API's base URL (an http(s) URL with a host and a valid
    port, not ending in `path_prefix`, which the tap adds itself), if it cannot."""
    problem = f"Setting 'api_url' must be an http(s) URL such as {EXAMPLE_API_URL}, got {url!r}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        return [f"{problem} ({exc})."]
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return [f"{problem}."]
    path = parts.path.rstrip("/")
    if path_prefix and path.endswith(path_prefix):
        base = parts._replace(path=path.removesuffix(path_prefix), query="", fragment="")
        return [
            f"Setting 'api_url' must not end in {path_prefix}, which the tap adds to every "
            f"path it reads: set it to {base.geturl()!r}, not {url!r}."
        ]
    return []
