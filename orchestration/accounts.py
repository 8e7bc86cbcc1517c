"""The accounts the production jobs sync, declared in `orchestration/accounts.toml`.

One tap, many accounts: each (tap, account) pair is its own Meltano extractor,
`<tap>-<account>`, that inherits everything from the tap's plugin (`inherit_from`: no
copied plugin block, one venv) and has its own namespace, so its own target schema, its
own settings from the environment (`<TAP>_<ACCOUNT>_API_KEY`, ...) and its own state id
(`<environment>:<tap>-<account>-to-<loader>`). `scripts/project_files.py` writes those
extractors into `meltano.yml`; the orchestrator makes one job step of each.

Standard library only: the orchestrator's own venv reads this module too.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

ACCOUNTS_FILE = Path(__file__).with_name("accounts.toml")
#: Lower-case letters and digits, words joined by `_`: a plugin name, a schema and an
#: environment-variable prefix all follow from it without ambiguity.
ACCOUNT_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


@dataclass(frozen=True)
class Account:
    """One account of one tap."""

    tap: str
    name: str

    @property
    def plugin(self) -> str:
        """The Meltano extractor of this account (`tap-error-tracking-alpha`)."""
        return f"{self.tap}-{self.name}"

    @property
    def namespace(self) -> str:
        """The plugin's namespace: its target schema and the job step's name."""
        return self.plugin.replace("-", "_")

    @property
    def env_prefix(self) -> str:
        """Prefix of the environment variables that set this account's settings."""
        return self.namespace.upper()

    def state_id(self, environment: str, loader: str) -> str:
        """The Meltano state id of `meltano --environment=<environment> run` into `loader`."""
        return f"{environment}:{self.plugin}-to-{loader}"


@dataclass(frozen=True)
class TapJobs:
    """A tap's accounts and the cron schedule that syncs them."""

    tap: str
    schedule: str
    accounts: tuple[Account, ...]


def load(path: Path = ACCOUNTS_FILE) -> list[TapJobs]:
    """Every tap of the file with its accounts, in file order; a bad entry raises
    ValueError naming it."""
    declared = tomllib.loads(path.read_text())
    found = []
    for tap, entry in declared.items():
        names = entry.get("accounts", [])
        bad = [name for name in names if not ACCOUNT_NAME.match(str(name))]
        schedule = entry.get("schedule")
        if bad or len(set(names)) != len(names) or not names or not isinstance(schedule, str):
            msg = (
                f"{path.name}: [{tap}] needs `accounts`, distinct names like 'acme_eu' "
                f"(got {names}), and a cron `schedule` (got {schedule!r})"
            )
            raise ValueError(msg)
        accounts = tuple(Account(tap, name) for name in names)
        found.append(TapJobs(tap, schedule, accounts))
    return found


def all_accounts(path: Path = ACCOUNTS_FILE) -> list[Account]:
    """Every account of every tap."""
    return [account for jobs in load(path) for account in jobs.accounts]
