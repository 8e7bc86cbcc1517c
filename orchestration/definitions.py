"""The production jobs as a Dagster code location.

    dagster dev -m orchestration.definitions                       # UI, schedules, daemon
    dagster job execute -m orchestration.definitions -j sync_all   # every account, now

One step per account of `orchestration/accounts.toml`: an attempt of
`orchestration.jobs.sync` (`meltano --environment=prod run <tap>-<account>
target-postgres`) whose output is the step's log, retried by the step's retry policy. The
jobs: one per account (`sync_tap_pipeline_crm_alpha`, its one step `tap_pipeline_crm_alpha`)
on its tap's cron schedule, and `sync_all`, every account at once, each step in a process
of its own.

Environment: the deployment's (see `orchestration.jobs.deployment_problems`), plus
`SYNC_RETRIES` (default 2), `SYNC_RETRY_DELAY_SECONDS` (default 30) and
`SYNC_MAX_CONCURRENT` (steps of `sync_all` at once; default all).
"""

import os
import sys

import dagster as dg
from dagster import OpExecutionContext

from orchestration import accounts, jobs

RETRY = dg.RetryPolicy(
    max_retries=int(os.environ.get("SYNC_RETRIES", "2")),
    delay=float(os.environ.get("SYNC_RETRY_DELAY_SECONDS", "30")),
)


def account_step(account: accounts.Account) -> dg.OpDefinition:
    """The step that syncs one account."""
    state_id = account.state_id(jobs.ENVIRONMENT, jobs.LOADER)

    @dg.op(
        name=account.namespace,
        retry_policy=RETRY,
        tags={"tap": account.tap, "account": account.name},
        description=f"meltano run {account.plugin} {jobs.LOADER} (state id {state_id})",
    )
    def sync(context: OpExecutionContext) -> None:
        if problems := jobs.deployment_problems(os.environ):
            raise dg.Failure("; ".join(problems), allow_retries=False)
        attempt = context.retry_number + 1
        context.log.info(f"{state_id}: attempt {attempt}")
        code = jobs.sync(account, sys.stderr, force=attempt > 1)
        if code != 0:
            raise dg.Failure(
                f"{account.plugin}: meltano run exited with {code} (attempt {attempt})",
                metadata={"exit status": code, "state id": state_id},
            )

    return sync


def definitions() -> dg.Definitions:
    """Every account's job and schedule, and `sync_all`."""
    declared = accounts.load()
    steps = {account: account_step(account) for tap in declared for account in tap.accounts}
    account_jobs, schedules = [], []
    for tap in declared:
        for account in tap.accounts:
            job = dg.GraphDefinition(
                name=f"sync_{account.namespace}", node_defs=[steps[account]]
            ).to_job(executor_def=dg.in_process_executor)
            account_jobs.append(job)
            schedules.append(
                dg.ScheduleDefinition(
                    job=job,
                    cron_schedule=tap.schedule,
                    execution_timezone="UTC",
                    default_status=dg.DefaultScheduleStatus.RUNNING,
                )
            )
    parallel = int(os.environ.get("SYNC_MAX_CONCURRENT", "0")) or len(steps)
    sync_all = dg.GraphDefinition(name="sync_all", node_defs=list(steps.values())).to_job(
        executor_def=dg.multiprocess_executor.configured(
            # Step processes forked from one that imported Dagster and this module once.
            {"max_concurrent": parallel, "start_method": {"forkserver": {}}}
        )
    )
    return dg.Definitions(jobs=[*account_jobs, sync_all], schedules=schedules)


defs = definitions()
