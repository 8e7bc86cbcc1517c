"""One account's job: `meltano --environment=prod run <tap>-<account> target-postgres`.

Each attempt runs in a process group of its own (Meltano, the tap and the loader), its
output copied line by line to the caller's stream (the orchestrator's log of the step),
and when it ends, however it ends, whatever is left of the group is killed: a failed
attempt leaves nothing running. So a retry may pass `force=True`: the attempt before it is
dead, and the system database's record of it (which still reads "running" until its
heartbeat goes stale) must not block the new one. A first attempt never forces, so two
runs of one account at once still fail fast instead of interleaving their state.

An attempt sees the orchestrator's environment less every other account's settings
(`<TAP>_<ACCOUNT>_*`): an account's secrets reach its own jobs only.

Standard library only: this runs in the orchestrator's own venv.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import typing as t
from pathlib import Path

from orchestration.accounts import Account, all_accounts

ENVIRONMENT = "prod"
LOADER = "target-postgres"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def meltano() -> str:
    """The Meltano executable: `$MELTANO_BIN`, else the project's venv's, else on PATH."""
    if configured := os.environ.get("MELTANO_BIN"):
        return configured
    local = PROJECT_ROOT / ".venv" / "bin" / "meltano"
    return str(local) if local.exists() else shutil.which("meltano") or "meltano"


def command(account: Account, *, force: bool = False) -> list[str]:
    """The command line of one attempt."""
    options = ["--force"] if force else []
    return [meltano(), f"--environment={ENVIRONMENT}", "run", *options, account.plugin, LOADER]


def deployment_problems(env: t.Mapping[str, str]) -> list[str]:
    """What keeps `env` from being a production deployment: state must survive this
    machine (a remote state backend) and the system database must be shared."""
    problems = []
    state = env.get("MELTANO_STATE_BACKEND_URI", "systemdb")
    if state == "systemdb" or state.startswith("file://"):
        problems.append(f"MELTANO_STATE_BACKEND_URI is {state!r}: set it to s3://BUCKET/PREFIX")
    if not env.get("MELTANO_DATABASE_URI", "").startswith("postgresql"):
        problems.append("MELTANO_DATABASE_URI must name a PostgreSQL database")
    return problems


def job_env(
    account: Account, env: t.Mapping[str, str], declared: t.Iterable[Account]
) -> dict[str, str]:
    """`env` without the variables of the other `declared` accounts (a variable belongs
    to the account with the longest prefix it starts with: `..._BETA_EU_KEY` is
    beta_eu's, not beta's)."""
    prefixes = {f"{a.env_prefix}_": a for a in declared}

    def owner(name: str) -> Account | None:
        owners = [prefix for prefix in prefixes if name.startswith(prefix)]
        return prefixes[max(owners, key=len)] if owners else None

    return {name: value for name, value in env.items() if owner(name) in (None, account)}


def sync(account: Account, output: t.TextIO, *, force: bool = False) -> int:
    """Run one attempt to its end; its exit status (negative: the signal that killed it)."""
    process = subprocess.Popen(
        command(account, force=force),
        cwd=PROJECT_ROOT,
        env=job_env(account, os.environ, all_accounts()),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        for line in process.stdout or ():
            output.write(line)
        return process.wait()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
