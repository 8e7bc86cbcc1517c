"""A tap in a Meltano project of the user's own, as README.md shows it.

The commands of the README's first block under "In your own Meltano project" run as
written, in a temporary directory, with `REPO` set to this checkout: a new project
(`meltano init`), the tap added from its plugin definition (plugins/extractors/<tap>.yml,
`pip_url` pointed at the checkout) and target-duckdb from plugins/loaders/, sandbox mode
set, then `meltano run <tap> target-duckdb` twice; then its second block, which opens the
DuckDB file, and the select rules of "Choosing streams and properties". Meltano's hub is
out of reach (its URL points at a closed port), so nothing may need it. The second run
must start from the bookmarks the first one saved: fewer records for every incremental
stream, every record again for the other top-level ones.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from rest_taps.common.registry import tap_class
from tests.support import ROOT

pytestmark = pytest.mark.meltano

README = ROOT / "README.md"
HEADING = "## In your own Meltano project"
TAP = "tap-error-tracking"
PROJECT = "my-project"


def readme_blocks() -> list[list[str]]:
    """The commands of each fenced block of the README's section, comments left out."""
    section = README.read_text().partition(f"\n{HEADING}\n")[2].split("\n## ")[0]
    blocks = re.findall(r"^```\w*\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    assert blocks, f"README.md: no command block under {HEADING!r}"
    lines = [[line.split("  #")[0].strip() for line in b.splitlines()] for b in blocks]
    return [[line for line in b if line and not line.startswith("#")] for b in lines]


def shell(script: str, cwd: Path, *, stdout: bool = False) -> str:
    """Run commands as a user's shell would (stopping at the first failure); their stderr,
    or their stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MELTANO_", "TAP_", "TARGET_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        REPO=str(ROOT),
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        MELTANO_HUB_URL="http://127.0.0.1:9",  # nothing may need the hub
    )
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"{script}\n{proc.stderr[-4000:]}"
    return proc.stdout if stdout else proc.stderr


def batches(path: Path, schema: str) -> dict[str, list[dt.datetime]]:
    """Table → the load time (`_sdc_batched_at`) of each of its rows."""
    with duckdb.connect(str(path), read_only=True) as con:
        names = con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
        return {
            name: [
                at
                for (at,) in con.execute(
                    f'select _sdc_batched_at from "{schema}"."{name}"'
                ).fetchall()
            ]
            for (name,) in names
        }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's new project after its setup and first run."""
    *setup_and_first_run, _ = readme_blocks()[0]
    assert setup_and_first_run[0].startswith(f"meltano init {PROJECT}"), setup_and_first_run
    root = tmp_path_factory.mktemp("own")
    shell("\n".join(setup_and_first_run), root)
    return root / PROJECT


def test_a_tap_added_to_a_new_meltano_project_runs_incrementally(project: Path) -> None:
    commands, look, *_ = readme_blocks()
    assert commands[-2] == commands[-1] == f"meltano run {TAP} target-duckdb"
    plugins = yaml.safe_load((project / "meltano.yml").read_text())["plugins"]
    assert set(plugins) == {"extractors", "loaders"}, "nothing else added (no stray utility)"
    assert [p["name"] for p in plugins["extractors"]] == [TAP]
    assert "state" in plugins["extractors"][0]["capabilities"]
    warehouse = project / "output" / "warehouse.duckdb"
    schema = TAP.replace("-", "_")
    first = batches(warehouse, schema)
    first_done = max(at for times in first.values() for at in times)

    shell(commands[-1], project)
    second = {
        table: sum(at > first_done for at in times)
        for table, times in batches(warehouse, schema).items()
    }
    # The README's way to look at the data: the loader's own venv has DuckDB.
    assert all(table in shell("\n".join(look), project, stdout=True) for table in second)

    config = {"sandbox": True, "schema_evolution": "off"}  # off: no sampling of the API
    tap = tap_class(TAP)(config=config, validate_config=False)
    streams = {name.lower(): stream for name, stream in tap.streams.items()}
    assert set(second) == set(first) == set(streams)
    incremental = {name for name, stream in streams.items() if stream.replication_key}
    assert incremental
    for table, resent in second.items():
        if table in incremental:
            assert 0 < resent < len(first[table]), (table, resent, len(first[table]))
        elif streams[table].parent_stream_type is None:
            assert resent == len(first[table]), (table, resent, len(first[table]))


def selected(project: Path) -> dict[str, str]:
    """Property (`items.title`) → how `meltano select --list` marks it (selected, ...)."""
    listing = shell(f"meltano select {TAP} --list --all", project, stdout=True)
    return {name: mark for mark, name in re.findall(r"^\s*\[(\w+)\s*\] (\S+)$", listing, re.M)}


def test_the_readmes_select_rules_exclude_one_property(project: Path) -> None:
    """An `--exclude` alone deselects everything; the README's rules select everything
    but the excluded property, and are the rules its `meltano.yml` form shows."""
    _, _, rules, in_yaml = readme_blocks()
    exclude = next(rule for rule in rules if "--exclude" in rule)
    shell(exclude, project)
    assert "selected" not in selected(project).values()
    shell("\n".join(rules), project)
    marks = selected(project)
    assert marks["items.title"] == "excluded"
    assert {marks["items.title_lock"], marks["users.email"]} == {"selected"}
    plugin = yaml.safe_load((project / "meltano.yml").read_text())["plugins"]["extractors"][0]
    assert set(plugin["select"]) == set(yaml.safe_load("\n".join(in_yaml))["select"])
