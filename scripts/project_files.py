"""Write the project files that list the taps, from the taps themselves.

The one list of taps is the distribution's `tap-*` commands (pyproject.toml); what each
tap is (its description, capabilities and settings) is what its own `--about
--format=json` prints; the accounts of the production jobs are
`orchestration/accounts.toml`. From those this writes:

- `plugins/extractors/<tap>.yml`: each tap's plugin definition in Meltano Hub's format, for
  `meltano add --plugin-type extractor <tap> --from-ref <file>` in any Meltano project, and
  `plugins/loaders/target-duckdb.yml` for the loader the README pairs them with;
- `meltano.yml`: each tap's definition, installed from this checkout, one extractor per
  account inheriting its tap; the loaders; the orchestrator;
- `.env.example`.

A test checks that every file is current.

    python -m scripts.project_files write    # after adding a tap or a setting
    python -m scripts.project_files check    # exit 1 if a file is out of date
    python -m scripts.project_files taps     # the tap commands, one line
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import yaml

from orchestration import accounts as production
from rest_taps.common.registry import DISTRIBUTION, tap_classes
from rest_taps.common.settings import EXAMPLE_API_URL

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "plugins"

HEADER = """\
# Written by `python -m scripts.project_files write` from the taps (their commands in
# pyproject.toml, their `--about`): change those, then run it; do not edit by hand.
#
# Each tap's extractor is its plugin definition (plugins/extractors/<tap>.yml, the file
# another Meltano project adds it from), installed from this checkout: its own settings,
# with their own descriptions, and its capabilities (without `state`, Meltano would never
# pass the saved state back). Each tap has a venv of its own: Meltano 4.4 cannot run a
# child plugin (`inherit_from`) that declares a setting its parent lacks (KeyError in its
# inherited settings store), so one parent for the five would have to declare every
# tap's credentials. The default environment serves every tap's built-in sandbox API, so
# `meltano run` works on a fresh machine without credentials; use `--environment=prod`
# with credentials in .env (see .env.example) for the real APIs.
#
# The production jobs: one extractor per account (`<tap>-<account>`, from
# orchestration/accounts.toml) inheriting its tap, loaded by target-postgres, run by
# Dagster (its own venv, a utility here); see "Running at scale" in README.md.
#
# Fractional settings are `kind: string`: Meltano 4.4's `decimal` kind cannot write its
# values into a tap's config (a Decimal is not JSON); the taps read numbers from text.
"""

TARGET_DUCKDB: dict[str, t.Any] = {
    "name": "target-duckdb",
    "namespace": "target_duckdb",
    "pip_url": "target-duckdb==0.8.0 duckdb==1.2.2",
    "executable": "target-duckdb",
    "settings": [
        {
            "name": "filepath",
            "kind": "string",
            "label": "Database file",
            "value": "${MELTANO_PROJECT_ROOT}/output/warehouse.duckdb",
        },
        {
            "name": "default_target_schema",
            "kind": "string",
            "label": "Target schema",
            "description": "One schema per extractor: its namespace (tap_error_tracking).",
            "value": "$MELTANO_EXTRACTOR_NAMESPACE",
        },
        {
            "name": "add_metadata_columns",
            "kind": "boolean",
            "label": "Add metadata columns",
            "description": (
                "Keep it true: target-duckdb loads each batch through a CSV file, and "
                "without a column of another type than text DuckDB's CSV sniffer takes the "
                "first row of a batch for a header and drops it; the _sdc_* time columns "
                "keep every row."
            ),
            "value": True,
        },
    ],
}

TARGET_POSTGRES: dict[str, t.Any] = {
    "name": "target-postgres",
    "namespace": "target_postgres",
    "pip_url": "meltanolabs-target-postgres==0.8.1",
    "executable": "target-postgres",
    "settings": [
        {"name": "host", "kind": "string", "label": "Host"},
        {"name": "port", "kind": "integer", "label": "Port"},
        {"name": "user", "kind": "string", "label": "User"},
        {"name": "password", "kind": "string", "label": "Password", "sensitive": True},
        {"name": "database", "kind": "string", "label": "Database"},
        {
            "name": "default_target_schema",
            "kind": "string",
            "label": "Target schema",
            "description": "One schema per extractor, so per account (its namespace).",
            "value": "$MELTANO_EXTRACTOR_NAMESPACE",
        },
        {
            "name": "load_method",
            "kind": "options",
            "options": [
                {"label": method, "value": method}
                for method in ("append-only", "upsert", "overwrite")
            ],
            "label": "Load method",
            "description": (
                "Keyed upserts: a run that resumes from the last committed state sends "
                "again what a killed run had already loaded; each row stays one row."
            ),
            "value": "upsert",
        },
        {"name": "batch_size_rows", "kind": "integer", "label": "Rows per batch"},
    ],
}

#: The orchestrator, in a venv of its own. SQLAlchemy 2.1 makes psycopg 3 the default
#: PostgreSQL driver, which dagster-postgres 0.29 does not support (it uses psycopg2).
DAGSTER: dict[str, t.Any] = {
    "name": "dagster",
    "namespace": "dagster",
    "pip_url": (
        "dagster==1.13.27 dagster-webserver==1.13.27 dagster-postgres==0.29.27 sqlalchemy==2.0.58"
    ),
    "executable": "dagster",
}


@cache
def abouts() -> dict[str, dict[str, t.Any]]:
    """Tap command → what `<command> --about --format=json` prints."""

    def about(command: str) -> dict[str, t.Any]:
        script = Path(sys.executable).parent / command
        proc = subprocess.run(
            [str(script), "--about", "--format=json"], capture_output=True, text=True, check=True
        )
        return json.loads(proc.stdout)

    with ThreadPoolExecutor() as pool:
        return dict(zip(tap_classes(), pool.map(about, tap_classes()), strict=True))


def _kind(spec: dict[str, t.Any]) -> dict[str, t.Any]:
    """Meltano's kind (and options) for a setting of a tap's config schema. A setting of
    several types (an object or a file's path) is a string: Meltano passes it as given."""
    kinds = spec.get("type", [])
    kinds = {kinds} if isinstance(kinds, str) else set(kinds) - {"null"}
    if spec.get("enum"):
        options = [{"label": value, "value": value} for value in spec["enum"]]
        return {"kind": "options", "options": options}
    if spec.get("format") == "date-time":
        return {"kind": "date_iso8601"}
    if len(kinds) == 1 and (kind := kinds.pop()) in ("boolean", "integer", "object", "array"):
        return {"kind": kind}
    return {"kind": "string"}  # strings, numbers (see the header), several types


def setting(name: str, spec: dict[str, t.Any]) -> dict[str, t.Any]:
    """A setting of Meltano's plugin definitions, from the tap's config schema."""
    entry = {"name": name, **_kind(spec), "label": spec.get("title") or name}
    if description := spec.get("description"):
        entry["description"] = description
    if spec.get("secret"):
        entry["sensitive"] = True
    return entry


def namespace(command: str) -> str:
    return command.replace("-", "_")


def definition(command: str) -> dict[str, t.Any]:
    """A tap's plugin definition in Meltano Hub's format, from its `--about`."""
    about = abouts()[command]
    schema = about["settings"]
    groups = [["sandbox"]] if "sandbox" in schema["properties"] else []
    if schema.get("required"):
        groups.append(list(schema["required"]))
    return {
        "name": command,
        "namespace": namespace(command),
        "description": " ".join((about["description"] or command).split()),
        "pip_url": f"{DISTRIBUTION}=={about['version']}",
        "executable": command,
        "capabilities": about["capabilities"],
        "settings_group_validation": groups,
        "settings": [setting(name, spec) for name, spec in schema["properties"].items()],
    }


def extractors() -> list[dict[str, t.Any]]:
    """Each tap's plugin definition, installed from this checkout, then one extractor per
    account."""
    taps = [{**definition(command), "pip_url": "-e ."} for command in tap_classes()]
    return [*taps, *account_plugins()]


def account_plugins() -> list[dict[str, str]]:
    """One extractor per account of `orchestration/accounts.toml`, inheriting its tap."""
    taps = tap_classes()
    plugins = []
    for account in production.all_accounts():
        if account.tap not in taps or account.plugin in taps:
            msg = f"{production.ACCOUNTS_FILE.name}: {account.plugin!r}: unknown tap or taken name"
            raise ValueError(msg)
        plugins.append(
            {"name": account.plugin, "inherit_from": account.tap, "namespace": account.namespace}
        )
    return plugins


def environment(name: str, sandbox: bool) -> dict[str, t.Any]:
    """A Meltano environment that sets `sandbox` for every tap that has the setting."""
    taps = [
        {"name": command, "config": {"sandbox": sandbox}}
        for command, about in abouts().items()
        if "sandbox" in about["settings"]["properties"]
    ]
    return {"name": name, "config": {"plugins": {"extractors": taps}}}


def dump(data: t.Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1_000)


def meltano_yml() -> str:
    project = {
        "project_id": "rest-taps-collection",
        "requires_meltano": ">=4.4,<5",
        "send_anonymous_usage_stats": False,
        "default_environment": "sandbox",
        "plugins": {
            "extractors": extractors(),
            "loaders": [TARGET_DUCKDB, TARGET_POSTGRES],
            "utilities": [DAGSTER],
        },
        "environments": [environment("sandbox", True), environment("prod", False)],
    }
    return f"{HEADER}\n{dump(project)}"


def plugin_file(kind: str, definition: dict[str, t.Any]) -> str:
    """A plugin definition as its file under plugins/."""
    return (
        "# Written by `python -m scripts.project_files write`; do not edit by hand.\n"
        '# Add it to a Meltano project (see README.md, "In your own Meltano project"):\n'
        f"#   meltano add --plugin-type {kind} {definition['name']} --from-ref <this file>\n"
        f"{dump(definition)}"
    )


def credentials(command: str) -> list[str]:
    """The settings a tap needs outside sandbox mode (its schema's `required`), the URL
    first."""
    return sorted(abouts()[command]["settings"].get("required", []), key=lambda n: n != "api_url")


def env_line(prefix: str, name: str) -> str:
    return f"{prefix}_{name.upper()}={EXAMPLE_API_URL if name == 'api_url' else ''}"


def env_example() -> str:
    lines = [
        "# Credentials for the real APIs: copy to .env, fill in, and run with",
        "# `meltano --environment=prod run <tap> target-duckdb`.",
        "# Meltano reads <EXTRACTOR>_<SETTING> environment variables.",
    ]
    for command in tap_classes():
        lines += [env_line(namespace(command).upper(), name) for name in credentials(command)]
    lines.append("# Optional for every tap: <EXTRACTOR>_START_DATE=2024-01-01T00:00:00Z")
    return "\n".join([*lines, *PRODUCTION_ENV, *account_env()]) + "\n"


PRODUCTION_ENV = [
    "",
    '# The production jobs (README.md, "Running at scale"): shared state in object storage,',
    "# the system database and the warehouse in PostgreSQL. Set these where the jobs run.",
    "# MELTANO_DATABASE_URI=postgresql+psycopg://USER:PASSWORD@HOST:5432/meltano",
    "# MELTANO_STATE_BACKEND_URI=s3://BUCKET/meltano-state",
    "# MELTANO_STATE_BACKEND_S3_ENDPOINT_URL=https://s3.example.com",
    "# MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID=",
    "# MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY=",
    "# TARGET_POSTGRES_HOST=",
    "# TARGET_POSTGRES_PORT=5432",
    "# TARGET_POSTGRES_USER=",
    "# TARGET_POSTGRES_PASSWORD=",
    "# TARGET_POSTGRES_DATABASE=",
    "# Each account of orchestration/accounts.toml: <TAP>_<ACCOUNT>_<SETTING>.",
]


def account_env() -> list[str]:
    """The settings each account needs, commented out like the production stack's."""
    return [
        f"# {env_line(account.env_prefix, name)}"
        for account in production.all_accounts()
        for name in credentials(account.tap)
    ]


def files() -> dict[str, str]:
    """Path (relative to the repository) → the content the taps say it should have."""
    written = {"meltano.yml": meltano_yml(), ".env.example": env_example()}
    for command in tap_classes():
        written[f"plugins/extractors/{command}.yml"] = plugin_file("extractor", definition(command))
    written["plugins/loaders/target-duckdb.yml"] = plugin_file("loader", TARGET_DUCKDB)
    return written


def definition_files() -> set[str]:
    """The plugin definitions on disk (Meltano's own lock files beside them are not)."""
    return {str(path.relative_to(ROOT)) for path in PLUGINS.glob("*/*.yml")}


def stale() -> list[str]:
    """The files whose content is not what the taps say it should be, and definitions of
    plugins that are no longer there."""
    expected = files()
    return sorted(
        name
        for name in expected.keys() | definition_files()
        if not (ROOT / name).is_file() or (ROOT / name).read_text() != expected.get(name)
    )


def write() -> None:
    expected = files()
    for name in definition_files() - expected.keys():
        (ROOT / name).unlink()
    for name, text in expected.items():
        (ROOT / name).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / name).write_text(text)


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "check"
    if command == "write":
        write()
    elif command == "check":
        if out_of_date := stale():
            sys.exit(
                f"out of date: {', '.join(out_of_date)} (python -m scripts.project_files write)"
            )
    elif command == "taps":
        print(" ".join(tap_classes()))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
