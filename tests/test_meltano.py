"""End to end: `meltano run <tap> target-duckdb` in sandbox mode, row counts exact.

target-duckdb 0.8.0 with duckdb >= 1.3 silently drops the first row of each batch (exit
code 0); meltano.yml pins duckdb 1.2.2 for it, and these counts would catch a regression.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.duckdb_counts import table_counts
from tests.support import ROOT, api_class, available_taps, tap_class

pytestmark = pytest.mark.meltano
MELTANO = str(Path(sys.executable).parent / "meltano")


@pytest.fixture(scope="module")
def meltano_installed() -> None:
    if shutil.which(MELTANO) is None:
        pytest.fail("meltano is not installed in this venv: pip install -e '.[dev]'")
    subprocess.run([MELTANO, "install"], cwd=ROOT, check=True, capture_output=True)


@pytest.mark.parametrize("package", available_taps())
def test_meltano_run_into_duckdb(package: str, meltano_installed: None, tmp_path: Path) -> None:
    tap = tap_class(package).name
    database = tmp_path / "warehouse.duckdb"
    env = {
        **os.environ,
        "TARGET_DUCKDB_FILEPATH": str(database),
        # Its own system database: the test's bookmarks must not leak into `make demo`.
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    proc = subprocess.run(
        [MELTANO, "run", "--full-refresh", tap, "target-duckdb"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    schema = tap.replace("-", "_")
    counts = {table: rows for s, table, rows in table_counts(str(database)) if s == schema}
    expected = {stream.lower(): n for stream, n in api_class(package)().expected_counts().items()}
    assert counts == expected
