"""Every command in every README runs as written, against the sandbox.

The convention, for README.md and every rest_taps/*/README.md: a fenced block tagged `sh`
holds commands a reader can paste on this machine after `make setup`, one a line (a line
ending in a backslash continues on the next), with `.venv/bin` on PATH; comments and blank
lines are not commands. Commands that cannot run here (a real API, an editor) go in a
`text` block; output and layouts in untagged blocks. The other shell tags (`bash`,
`shell`, `console`, ...) are not used, so a block's tag always says whether it runs.

The commands of one block run in order, each in its own shell, in one fresh directory
(where `.venv` points at this test's venv), with no `TAP_*` variables but the block's
own. Each must exit with status 0, and show what it is for: `--about` the tap's
settings, `--discover` a catalog, a tap run SCHEMA and RECORD messages, a standalone
sandbox its URL (it is then stopped). Only the two top-level `make` commands are not
run here: `make test` is this suite, and `make demo` is `meltano run` into DuckDB, which
tests/test_meltano.py runs for every tap.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from rest_taps.common.registry import tap_classes
from tests.support import ROOT

READMES = [ROOT / "README.md", *sorted(ROOT.glob("rest_taps/*/README.md"))]
RUNNABLE = "sh"
#: Shell tags that would leave a reader guessing whether the block runs.
AMBIGUOUS = {"bash", "shell", "console", "zsh", "shell-session", "sh-session"}
#: Run elsewhere (see the module docstring).
NOT_RUN_HERE = ("make demo", "make test")
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
VENV = Path(sys.prefix)


def fenced_blocks(path: Path) -> list[tuple[str, str]]:
    """(tag, text) of every fenced code block of a Markdown file."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(path.read_text())]


def commands(block: str) -> list[str]:
    """The commands of an `sh` block: lines joined at trailing backslashes, less comments."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line for line in joined.splitlines() if line.strip() and not line.startswith("#")]


def runnable_blocks() -> list[t.Any]:
    params = []
    for path in READMES:
        sh = [text for tag, text in fenced_blocks(path) if tag == RUNNABLE]
        for i, text in enumerate(sh, 1):
            where = path.parent.name if path.parent != ROOT else "top"
            params.append(pytest.param(text, id=f"{where}-{i}"))
    return params


def test_every_block_says_whether_it_runs() -> None:
    misleading = [
        f"{path.relative_to(ROOT)}: ```{tag}"
        for path in READMES
        for tag, _ in fenced_blocks(path)
        if tag in AMBIGUOUS
    ]
    assert misleading == [], "use ```sh for commands that run here, ```text for the others"


def test_the_readmes_have_runnable_blocks() -> None:
    """Every README shows its tap (or the project) running: the test below is not empty."""
    without = [
        str(path.relative_to(ROOT))
        for path in READMES
        if not any(tag == RUNNABLE for tag, _ in fenced_blocks(path))
    ]
    assert without == []


def shell_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_")}
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def words(command: str) -> list[str]:
    """The shell words of a command, operators (`|`, `>`) apart, comments left out."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def output_of(command: str, stdout: str, cwd: Path) -> str:
    """What the command wrote: its stdout, or the file it redirected stdout to."""
    tokens = words(command)
    if ">" in tokens:
        return (cwd / tokens[len(tokens) - 1 - tokens[::-1].index(">") + 1]).read_text()
    return stdout


def tap_invoked(command: str) -> str | None:
    """The tap the first command of a pipeline runs (`tap-x`, `python -m rest_taps.x`), if any."""
    tokens = words(command)
    first = tokens[: tokens.index("|")] if "|" in tokens else tokens
    for i, word in enumerate(first):
        if Path(word).name in tap_classes():
            return Path(word).name
        if word == "-m" and i + 1 < len(first) and first[i + 1].startswith("rest_taps."):
            package = first[i + 1].removeprefix("rest_taps.")
            if package != "common.sandbox":
                return "tap-" + package.replace("_", "-")
    return None


def check_sandbox_server(command: str, cwd: Path) -> None:
    """A standalone sandbox prints its URL and credentials, serves, and stops on SIGTERM."""
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=cwd,
        env=shell_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert re.match(r"http://127\.0\.0\.1:\d+ \w+=", first), (first, proc.stderr.read())
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0, f"{command}: exit status {code} after SIGTERM"


def check_command(command: str, cwd: Path) -> None:
    if "rest_taps.common.sandbox" in command or "rest-taps-sandbox" in command:
        check_sandbox_server(command, cwd)
        return
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, f"{command}\nexit status {proc.returncode}\n{proc.stderr[-3000:]}"
    tap = tap_invoked(command)
    if tap is None:
        return
    out = output_of(command, proc.stdout, cwd)
    if "--about" in words(command):
        settings = tap_classes()[tap].config_jsonschema["properties"]
        missing = [name for name in settings if name not in out]
        assert missing == [], f"{command}: --about does not list {missing}"
    elif "--discover" in words(command):
        catalog = json.loads(out)
        assert catalog["streams"], f"{command}: an empty catalog"
    else:
        kinds = {json.loads(line)["type"] for line in out.splitlines() if line.strip()}
        assert {"SCHEMA", "RECORD", "STATE"} <= kinds, f"{command}: wrote only {kinds}"


@pytest.mark.parametrize("block", runnable_blocks())
def test_readme_commands_run_as_written(block: str, tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to(VENV)
    for command in commands(block):
        if command.startswith(NOT_RUN_HERE):
            continue
        check_command(command, tmp_path)
