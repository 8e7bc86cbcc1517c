"""The production path: many accounts per tap, shared state, a warehouse, an orchestrator.

`accounts` (the accounts and their Meltano extractors), `jobs` (one account's
`meltano run` attempt), `definitions` (the Dagster code location: jobs, schedules,
retries), `local_stack` (PostgreSQL and an S3-compatible store on this machine). See
"Running at scale" in README.md.
"""
