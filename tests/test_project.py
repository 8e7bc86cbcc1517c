"""The project's own files agree with the taps, and explain themselves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rest_taps.common import pagination
from rest_taps.common.registry import tap_classes
from rest_taps.rest import paging as rest_paging
from scripts import project_files, tap_readmes
from tests.support import ROOT, available_taps


def test_project_files_are_written_from_the_taps() -> None:
    """meltano.yml, .env.example and plugins/*/*.yml are what the generator writes: the
    plugin definitions cannot drift from the taps' `--about`."""
    assert project_files.stale() == [], "run: python -m scripts.project_files write"


def test_every_tap_has_a_plugin_definition_from_its_about() -> None:
    """One definition per tap the registry lists, in Meltano Hub's format, with what the
    tap's `--about` says: a tap added later gets its file."""
    listed = {path.stem for path in (ROOT / "plugins" / "extractors").glob("*.yml")}
    assert listed == set(tap_classes())
    for command in tap_classes():
        found = yaml.safe_load((ROOT / "plugins" / "extractors" / f"{command}.yml").read_text())
        about = project_files.abouts()[command]  # what `<command> --about --format=json` prints
        properties = about["settings"]["properties"]
        assert found["name"] == found["executable"] == command
        assert found["namespace"] == command.replace("-", "_")
        assert found["pip_url"] == f"rest-taps=={about['version']}"
        assert found["capabilities"] == about["capabilities"]
        assert "state" in found["capabilities"], "without it Meltano never passes state back"
        assert [s["name"] for s in found["settings"]] == list(properties)
        for entry in found["settings"]:
            spec = properties[entry["name"]]
            assert entry.get("description") == spec.get("description"), entry["name"]
            assert entry.get("sensitive", False) == spec.get("secret", False), entry["name"]
            assert entry["kind"] in KINDS, entry
        if required := about["settings"].get("required"):
            assert required in found["settings_group_validation"]


#: Meltano's setting kinds the definitions use.
KINDS = {"string", "integer", "boolean", "date_iso8601", "options", "object", "array"}


def test_each_tap_has_only_its_own_settings_in_meltano_yml() -> None:
    """A tap's extractor in meltano.yml is its plugin definition installed from this
    checkout: its own settings with its own descriptions, and its capabilities."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    extractors = {plugin["name"]: plugin for plugin in project["plugins"]["extractors"]}
    for command in tap_classes():
        definition = yaml.safe_load(
            (ROOT / "plugins" / "extractors" / f"{command}.yml").read_text()
        )
        assert extractors[command] == {**definition, "pip_url": "-e ."}
    api_key = {
        command: next(s for s in extractors[command]["settings"] if s["name"] == "api_key")
        for command in ("tap-error-tracking", "tap-crm-helpdesk")
    }
    assert "header" in api_key["tap-error-tracking"]["description"]
    assert "Basic" in api_key["tap-crm-helpdesk"]["description"]
    names = {s["name"] for s in extractors["tap-error-tracking"]["settings"]}
    assert not names & {"email", "access_token", "api_token", "tickets_window_days"}


def test_tap_readme_settings_are_what_about_prints() -> None:
    assert tap_readmes.stale() == [], "run: python -m scripts.tap_readmes write"


#: How a tap README's streams table names each paging style.
PAGING_WORDS: dict[type, str] = {
    pagination.PageNumberPaging: "page number",
    pagination.OffsetPaging: "offset",
    pagination.StartCursorPaging: "start cursor",
    pagination.NextCursorPaging: "next cursor",
    pagination.ScrollPaging: "scroll",
    pagination.BodyCursorPaging: "search cursor",
    pagination.RecordCursorPaging: "record cursor",
    pagination.SinglePage: "none",
    pagination.NextUrlPaging: "link",
    rest_paging.RangePaging: "range",
    rest_paging.CursorPaging: "cursor",
    rest_paging.HeaderCursorPaging: "header cursor",
    rest_paging.AutoPaging: "found",
}


def streams_table(command: str) -> dict[str, dict[str, str]]:
    """Stream → {column: cell} of the `| stream | path | ...` table of a tap's README."""
    lines = tap_readmes.readme(command).read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| stream |"))
    columns = [cell.strip() for cell in lines[header].strip("|").split("|")]
    rows = {}
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        cells = dict(zip(columns, (c.strip() for c in line.strip("|").split("|")), strict=True))
        rows[cells["stream"].strip("`")] = cells
    return rows


def names_in(cell: str) -> list[str]:
    """The `code` names of a table cell, in order."""
    return re.findall(r"`([^`]+)`", cell)


@pytest.mark.parametrize("command", list(tap_classes()))
def test_tap_readme_streams_table_is_the_streams(command: str) -> None:
    table = streams_table(command)
    config = {"sandbox": True, "schema_evolution": "off"}  # off: no sampling of the API
    streams = tap_classes()[command](config=config, validate_config=False).streams
    assert sorted(table) == sorted(streams)
    for name, stream in streams.items():
        row = table[name]
        assert stream.path in row["path"], (name, row["path"])
        assert names_in(row["primary key"]) == list(stream.primary_keys or ()), name
        replication = [stream.replication_key] if stream.replication_key else []
        assert names_in(row["replication key"]) == replication, name
        paging, cell = stream.paginator, row["pagination"].lower()
        assert PAGING_WORDS[type(paging)] in cell, (name, cell)
        sizes = [getattr(paging, a, None) for a in ("page_size", "limit", "per_page")]
        for size in filter(None, sizes):
            assert str(size) in cell, (name, cell)


#: What points outside the repository: the name pattern of the API description files
#: the taps were written from, the documents beside the repository, numbered issues.
OUTSIDE = re.compile(
    r"\d{3}_[0-9a-f]{16}|CONTRACT\.md|DESIGN\.md|\bissue \d+|\bseed \d{3}|/shared/",
    re.IGNORECASE,
)


def test_no_text_refers_to_documents_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    found = set()
    for name in tracked:
        path = ROOT / name
        if not path.is_file() or path == Path(__file__):  # this file names the patterns
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.add((f"{name}:{number}", line.strip()))
    assert found == set(), "say it in the project's own words"


@pytest.mark.parametrize("package", available_taps())
def test_a_tap_imports_no_sandbox(package: str) -> None:
    """The fake API is loaded only in sandbox mode: importing a tap does not load it."""
    code = (
        "import sys\n"
        f"import rest_taps.{package}.tap\n"
        "print(' '.join(m for m in sys.modules if 'sandbox' in m.split('.')))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.split() == []


def make_commands(*args: str) -> list[str]:
    """What `make -n -B ARGS` would run on a fresh clone (nothing built yet)."""
    proc = subprocess.run(
        ["make", "-n", "-B", *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def test_make_demo_installs_only_what_the_demo_runs() -> None:
    commands = make_commands("demo", "TAP=tap-pipeline-crm")
    installs = [c for c in commands if "meltano install" in c]
    assert [c.split("meltano install")[1].split() for c in installs] == [
        ["tap-pipeline-crm", "target-duckdb"]
    ]
    assert not any(word in c for c in commands for word in ("scale", "dagster", "postgres"))


def test_make_test_needs_neither_root_nor_a_system_package() -> None:
    """Everything `make test` installs comes from the package index, PostgreSQL's server
    included (tests/test_scale.py checks the stack runs it)."""
    commands = make_commands("test")
    assert not [c for c in commands if any(w in c.split() for w in ("apt-get", "apt", "sudo"))]
    assert any("pip install" in c and ".[scale]" in c for c in commands)
