"""The project's own files agree with the taps, and explain themselves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from rest_taps.common import pagination
from rest_taps.common.registry import tap_classes
from rest_taps.rest import paging as rest_paging
from scripts import project_files, tap_readmes
from tests.support import ROOT, available_taps


def test_meltano_yml_and_env_example_are_written_from_the_taps() -> None:
    assert project_files.stale() == [], "run: python -m scripts.project_files write"


def test_one_extractor_per_tap_inheriting_one_package() -> None:
    text = (project_files.ROOT / "meltano.yml").read_text()
    for command in tap_classes():
        assert f"  - name: {command}\n    inherit_from: {project_files.PARENT}\n" in text
    assert text.count("pip_url: -e .") == 1, "one package, one venv"


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
