"""The project's own files agree with the taps."""

from __future__ import annotations

from scripts import project_files
from taps.common.registry import tap_classes


def test_meltano_yml_and_env_example_are_written_from_the_taps() -> None:
    assert project_files.stale() == [], "run: python -m scripts.project_files write"


def test_one_extractor_per_tap_inheriting_one_package() -> None:
    text = (project_files.ROOT / "meltano.yml").read_text()
    for command in tap_classes():
        assert f"  - name: {command}\n    inherit_from: {project_files.PARENT}\n" in text
    assert text.count("pip_url: -e .") == 1, "one package, one venv"
