"""Write the project files that list the taps, from the taps themselves.

The one list of taps is the distribution's `tap-*` commands (pyproject.toml); their
settings are the taps' own config schemas; the accounts of the production jobs are
`orchestration/accounts.toml`. From those this writes `meltano.yml` (one parent extractor
with every setting, one child per tap: one package, one venv; one grandchild per account;
the loaders; the orchestrator) and `.env.example`. A test checks that both are current.

    python -m scripts.project_files write    # after adding a tap or a setting
    python -m scripts.project_files check    # exit 1 if a file is out of date
    python -m scripts.project_files taps     # the tap commands, one line
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from orchestration import accounts as production
from rest_taps.common.registry import tap_classes
from rest_taps.common.settings import EXAMPLE_API_URL

ROOT = Path(__file__).resolve().parent.parent
PARENT = "rest-taps"

HEADER = f"""\
# Written by `python -m scripts.project_files write` from the taps (their commands in
# pyproject.toml, their settings): change those, then run it; do not edit by hand.
#
# One parent extractor ({PARENT}) holds the package and every setting; each tap inherits
# from it, so all five share one venv. The default environment serves every tap's
# built-in sandbox API, so `meltano run` works on a fresh machine without credentials; use
# `--environment=prod` with credentials in .env (see .env.example) for the real APIs.
#
# The production jobs: one extractor per account (`<tap>-<account>`, from
# orchestration/accounts.toml) inheriting its tap, loaded by target-postgres, run by
# Dagster (its own venv, a utility here); see "Running at scale" in README.md.
#
# Fractional settings are `kind: string`: Meltano 4.4's `decimal` kind cannot write its
# values into a tap's config (a Decimal is not JSON); the taps read numbers from text.
"""

LOADERS = """\
  loaders:
  - name: target-duckdb
    namespace: target_duckdb
    pip_url: target-duckdb==0.8.0 duckdb==1.2.2
    executable: target-duckdb
    settings:
    - name: filepath
      kind: string
      label: Database file
    - name: default_target_schema
      kind: string
      label: Target schema
    - name: add_metadata_columns
      kind: boolean
      label: Add metadata columns
    config:
      filepath: ${MELTANO_PROJECT_ROOT}/output/warehouse.duckdb
      default_target_schema: $MELTANO_EXTRACTOR_NAMESPACE
      # Without a column of another type than text, DuckDB's CSV sniffer takes the
      # first row of a batch for a header and drops it (target-duckdb loads by CSV
      # COPY): the _sdc_* time columns keep every row.
      add_metadata_columns: true
  - name: target-jsonl
    namespace: target_jsonl
    pip_url: target-jsonl==0.1.4
    executable: target-jsonl
    settings:
    - name: destination_path
      kind: string
      label: Destination directory
    config:
      destination_path: output
  - name: target-postgres
    namespace: target_postgres
    pip_url: meltanolabs-target-postgres==0.8.1
    executable: target-postgres
    settings:
    - name: host
      kind: string
      label: Host
    - name: port
      kind: integer
      label: Port
    - name: user
      kind: string
      label: User
    - name: password
      kind: password
      sensitive: true
      label: Password
    - name: database
      kind: string
      label: Database
    - name: default_target_schema
      kind: string
      label: Target schema
    - name: load_method
      kind: options
      options:
        - {label: append-only, value: append-only}
        - {label: upsert, value: upsert}
        - {label: overwrite, value: overwrite}
      label: Load method
    - name: batch_size_rows
      kind: integer
      label: Rows per batch
    config:
      # One schema per extractor, so per account (its namespace).
      default_target_schema: $MELTANO_EXTRACTOR_NAMESPACE
      # Keyed upserts: a run that resumes from the last committed state sends again
      # what a killed run had already loaded; each row stays one row.
      load_method: upsert
"""

#: The orchestrator, in a venv of its own. SQLAlchemy 2.1 makes psycopg 3 the default
#: PostgreSQL driver, which dagster-postgres 0.29 does not support (it uses psycopg2).
DAGSTER = "dagster==1.13.27 dagster-webserver==1.13.27 dagster-postgres==0.29.27"
UTILITIES = f"""\
  utilities:
  - name: dagster
    namespace: dagster
    pip_url: {DAGSTER} sqlalchemy==2.0.58
    executable: dagster
"""

ENVIRONMENTS = f"""\
environments:
- name: sandbox
  config:
    plugins:
      extractors:
      - name: {PARENT}
        config:
          sandbox: true
- name: prod
  config:
    plugins:
      extractors:
      - name: {PARENT}
        config:
          sandbox: false
"""


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _kind(spec: dict) -> list[str]:
    """Meltano's kind (and options) for a setting of the taps' config schema."""
    if spec.get("secret"):
        return ["kind: password", "sensitive: true"]
    kinds = spec.get("type", [])
    if "boolean" in kinds:
        return ["kind: boolean"]
    if "integer" in kinds:
        return ["kind: integer"]
    if spec.get("format") == "date-time":
        return ["kind: date_iso8601"]
    if spec.get("enum"):
        options = [f"  - {{label: {value}, value: {value}}}" for value in spec["enum"]]
        return ["kind: options", "options:", *options]
    return ["kind: string"]


def settings() -> dict[str, dict]:
    """Every setting of every tap (credentials first), without the SDK's built-in ones."""
    found: dict[str, dict] = {}
    for tap in tap_classes().values():
        builtin = {"properties": {}}
        tap.append_builtin_config(builtin)
        for name, spec in tap.config_jsonschema["properties"].items():
            if name not in builtin["properties"]:
                found.setdefault(name, spec)
    return dict(sorted(found.items(), key=lambda item: not item[1].get("secret")))


def meltano_yml() -> str:
    taps = tap_classes()
    first = next(iter(taps))
    capabilities = [str(c) for c in next(iter(taps.values())).capabilities]
    lines = [
        HEADER,
        "project_id: rest-taps-collection",
        "requires_meltano: '>=4.4,<5'",
        "send_anonymous_usage_stats: false",
        "default_environment: sandbox",
        "plugins:",
        "  extractors:",
        f"  - name: {PARENT}",
        "    namespace: rest_taps",
        "    pip_url: -e .",
        f"    executable: {first}",
        "    capabilities:",
        *(f"    - {c}" for c in capabilities),
        "    settings:",
    ]
    for name, spec in settings().items():
        lines.append(f"    - name: {name}")
        lines += [f"      {line}" for line in _kind(spec)]
        lines.append(f"      label: {_quote(spec.get('title') or name)}")
        lines.append(f"      description: {_quote(spec.get('description', ''))}")
    for command, tap in taps.items():
        lines += [
            f"  - name: {command}",
            f"    inherit_from: {PARENT}",
            f"    namespace: {command.replace('-', '_')}",
            f"    executable: {command}",
            "    settings_group_validation:",
            "    - [sandbox]",
            f"    - [{', '.join(['api_url', *tap.auth.settings])}]",
        ]
    return "\n".join([*lines, *account_plugins()]) + "\n" + LOADERS + UTILITIES + ENVIRONMENTS


def account_plugins() -> list[str]:
    """One extractor per account of `orchestration/accounts.toml`, inheriting its tap."""
    taps = tap_classes()
    lines = []
    for account in production.all_accounts():
        if account.tap not in taps or account.plugin in taps:
            msg = f"{production.ACCOUNTS_FILE.name}: {account.plugin!r}: unknown tap or taken name"
            raise ValueError(msg)
        lines += [
            f"  - name: {account.plugin}",
            f"    inherit_from: {account.tap}",
            f"    namespace: {account.namespace}",
        ]
    return lines


def env_example() -> str:
    lines = [
        "# Credentials for the real APIs: copy to .env, fill in, and run with",
        "# `meltano --environment=prod run <tap> target-duckdb`.",
        "# Meltano reads <EXTRACTOR>_<SETTING> environment variables.",
    ]
    for command, tap in tap_classes().items():
        prefix = command.upper().replace("-", "_")
        lines.append(f"{prefix}_API_URL={EXAMPLE_API_URL}")
        lines += [f"{prefix}_{setting.upper()}=" for setting in tap.auth.settings]
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
    lines = []
    for account in production.all_accounts():
        auth = tap_classes()[account.tap].auth.settings
        lines.append(f"# {account.env_prefix}_API_URL={EXAMPLE_API_URL}")
        lines += [f"# {account.env_prefix}_{setting.upper()}=" for setting in auth]
    return lines


FILES = {"meltano.yml": meltano_yml, ".env.example": env_example}


def stale() -> list[str]:
    """The files whose content is not what the taps say it should be."""
    return [name for name, make in FILES.items() if (ROOT / name).read_text() != make()]


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "check"
    if command == "write":
        for name, make in FILES.items():
            (ROOT / name).write_text(make())
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
