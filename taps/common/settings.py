"""Settings shared by every tap, and their validation.

Every tap has the same connection settings (`api_url`, `sandbox`, time-outs, retries, ...);
only its credentials differ. `config_schema` builds a tap's JSON Schema from both, and
`validate` checks what a JSON Schema cannot say (credentials required outside sandbox mode,
dates that parse, a usable URL) so that bad config fails before the first request with one
line naming the setting.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from urllib.parse import urlsplit

from singer_sdk import typing as th

DEFAULT_API_URL = "https://api.example.com"
SCHEMA_EVOLUTION = ("auto", "include", "exclude", "off")


def common_properties() -> list[th.Property]:
    """The connection settings every tap has."""
    return [
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            title="API URL",
            description="Base URL of the API, without /v1 (seed paths start with /v1/).",
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
        th.Property(
            "request_timeout",
            th.NumberType,
            default=60,
            title="Request time-out",
            description="Seconds to wait for a response before the request is retried.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=3,
            title="Maximum retries",
            description="Retries of a failed request (429, 500, 502, 503, 504, network).",
        ),
        th.Property(
            "backoff_factor",
            th.NumberType,
            default=2,
            title="Backoff factor",
            description="Wait before retry n is backoff_factor * 2**(n-1) seconds.",
        ),
        th.Property(
            "max_concurrent_requests",
            th.IntegerType,
            default=8,
            title="Maximum concurrent requests",
            description="Child-stream requests sent at the same time (1 = one at a time).",
        ),
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
            "user_agent",
            th.StringType,
            title="User agent",
            description="User-Agent header sent with every request.",
        ),
    ]


def credential_property(name: str, description: str) -> th.Property:
    """A secret setting: never required by the schema, checked by `validate` instead."""
    return th.Property(
        name,
        th.StringType,
        secret=True,
        title=name,
        description=f"{description} Required unless `sandbox` is true.",
    )


def config_schema(credentials: t.Sequence[th.Property]) -> dict:
    """The tap's JSON Schema: its credentials, then the common settings."""
    return th.PropertiesList(*credentials, *common_properties()).to_dict()


def parse_datetime(value: str) -> dt.datetime:
    """Parse an ISO 8601 date-time (or date); naive values are taken as UTC."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def validate(config: t.Mapping[str, t.Any], credentials: t.Sequence[str]) -> list[str]:
    """Return one line per invalid setting, each naming the setting."""
    errors: list[str] = []
    if not config.get("sandbox"):
        errors.extend(
            f"Setting '{name}' is required (or set sandbox: true to use the built-in sandbox)."
            for name in credentials
            if not config.get(name)
        )
        url = urlsplit(str(config.get("api_url", DEFAULT_API_URL)))
        if url.scheme not in {"http", "https"} or not url.netloc:
            errors.append(
                f"Setting 'api_url' must be an http(s) URL such as {DEFAULT_API_URL}, "
                f"got {config.get('api_url')!r}."
            )
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
    for name, low in (
        ("max_retries", 0),
        ("backoff_factor", 0),
        ("request_timeout", 0.001),
        ("max_concurrent_requests", 1),
    ):
        value = config.get(name)
        if value is not None and (not isinstance(value, int | float) or value < low):
            errors.append(f"Setting '{name}' must be a number >= {low}, got {value!r}.")
    return errors
