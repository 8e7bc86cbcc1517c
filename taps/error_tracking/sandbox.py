"""Sandbox of the error-tracking API (seed 004, CONTRACT.md section 004).

Header `api_key`; bodies `{"err": 0, "result": …}`; page-number pagination with fixed
page sizes (100 for items, 20 for the others); items, occurrences and deploys newest
first with no server-side time filter; items metrics by POST with an inclusive
`[start_time, end_time]` window, one record per item and hour bucket.
"""

from __future__ import annotations

import typing as t
from collections import Counter

from taps.common.sandbox import Request, Response, SandboxAPI, route
from taps.common.sandbox.data import EPOCH, email, rng, words

DAY = 86_400
LEVELS = ("critical", "error", "warning", "info", "debug")
ENVIRONMENTS = ("production", "staging", "development", "qa")
BUCKET = 3_600  # items_metrics: one record per item and hour


class ErrorTrackingAPI(SandboxAPI):
    """Synthetic error-tracking API. `records` is the number of items."""

    title = "error-tracking"
    credentials: t.ClassVar[dict[str, str]] = {"api_key": "sandbox-error-tracking-key"}
    default_records = 250
    page_sizes: t.ClassVar[dict[str, int]] = {"/v1/items": 100}
    default_page_size = 20

    def __init__(self, records: int | None = None, seed: int = 0) -> None:
        super().__init__(records, seed)
        self.clock = EPOCH + 100 * DAY  # the API's "now"; new activity happens after it
        self._sorted: dict[str, list[dict]] = {}
        n = self.records
        r = rng(seed, "items")
        self.items = [
            {
                "id": 1000 + i,
                "project_id": 1 + i % 5,
                "counter": i + 1,
                "title": f"{r.choice(['TypeError', 'ValueError', 'KeyError'])}: {words(r, 3)}",
                "level": r.choice(LEVELS),
                "status": r.choice(("active", "resolved", "muted")),
                "environment": r.choice(ENVIRONMENTS),
                "framework": r.choice(("python", "node", "browser-js", "ruby")),
                "assigned_user_id": r.choice((None, 1, 2, 3)),
                "total_occurrences": 0,
                "first_occurrence_timestamp": None,
                "last_occurrence_timestamp": None,
            }
            for i in range(n)
        ]
        self.occurrences: list[dict] = []
        occ = rng(seed, "occurrences")
        for item in self.items:
            for _ in range(2):
                self._occur(item, EPOCH + occ.randrange(90 * DAY), occ)
        dep = rng(seed, "deploys")
        self.deploys: list[dict] = []
        for _ in range(n // 5):
            self.deploys.append(self._deploy(EPOCH + dep.randrange(90 * DAY), dep))
        env = rng(seed, "environments")
        self.environments = [
            {
                "id": 1 + i,
                "project_id": 1 + i % 5,
                "environment": f"{ENVIRONMENTS[i % 4]}-{i // 4}",
                "visible": env.random() > 0.2,
            }
            for i in range(25)
        ]
        job = rng(seed, "rql_jobs")
        self.jobs = [
            {
                "id": 500 + i,
                "project_id": 1 + i % 5,
                "query_string": f"select * from item_occurrence where level = '{LEVELS[i % 5]}'",
                "status": job.choice(("new", "running", "success", "failed")),
                "job_hash": f"{job.getrandbits(64):016x}",
                "date_created": EPOCH + job.randrange(90 * DAY),
                "date_modified": EPOCH + 90 * DAY + job.randrange(DAY),
            }
            for i in range(45)
        ]
        self.projects = [
            {
                "id": 1 + i,
                "account_id": 42,
                "name": f"project-{words(rng(seed, f'project{i}'), 1)}-{i + 1}",
                "status": "enabled" if i < 4 else "disabled",
                "date_created": EPOCH + i * DAY,
                "date_modified": EPOCH + (i + 10) * DAY,
            }
            for i in range(5)
        ]
        self.teams = [
            {"id": 10 + i, "account_id": 42, "name": name, "access_level": level}
            for i, (name, level) in enumerate(
                [
                    ("Owners", "owner"),
                    ("Backend", "standard"),
                    ("Frontend", "standard"),
                    ("Support", "light"),
                ]
            )
        ]
        u = rng(seed, "users")
        self.users = [
            {"id": 1 + i, "username": f"user{i + 1}", "email": email(u), "email_enabled": True}
            for i in range(12)
        ]

    # -- data changes (used by incremental tests) ------------------------------------------

    def _occur(self, item: dict, ts: int, r: t.Any) -> None:
        self.occurrences.append(
            {
                "id": 10_000_000 + len(self.occurrences),
                "item_id": item["id"],
                "project_id": item["project_id"],
                "timestamp": ts,
                "level": item["level"],
                "environment": item["environment"],
                "message": f"{item['title']} at line {r.randrange(1, 500)}",
                "framework": item["framework"],
                "server_host": f"web-{r.randrange(1, 9)}",
            }
        )
        item["total_occurrences"] += 1
        first = item["first_occurrence_timestamp"]
        item["first_occurrence_timestamp"] = ts if first is None else min(first, ts)
        last = item["last_occurrence_timestamp"]
        item["last_occurrence_timestamp"] = ts if last is None else max(last, ts)

    def _deploy(self, ts: int, r: t.Any) -> dict:
        return {
            "id": 70_000 + len(self.deploys),
            "project_id": r.randrange(1, 6),
            "environment": r.choice(ENVIRONMENTS),
            "revision": f"{r.getrandbits(40):010x}",
            "status": r.choice(("started", "succeeded", "failed")),
            "local_username": f"user{r.randrange(1, 13)}",
            "comment": words(r, 4),
            "start_time": ts,
            "finish_time": ts + r.randrange(30, 900),
        }

    def new_activity(self, items: int = 5, occurrences: int = 3, deploys: int = 2) -> None:
        """After `clock`: `occurrences` new occurrences on each of `items` existing items,
        `deploys` new deploys, and the clock moves past them."""
        r = rng(self.seed, f"activity{self.clock}")
        with self.lock:
            for item in self.items[:items]:
                for _ in range(occurrences):
                    self.clock += 7
                    self._occur(item, self.clock, r)
            for _ in range(deploys):
                self.clock += 11
                self.deploys.append(self._deploy(self.clock, r))
            self.clock += 1
            self._sorted.clear()

    # -- views --------------------------------------------------------------------------

    def newest_first(self, table: str, key: str) -> list[dict]:
        """`table` sorted newest first (cached until the data changes)."""
        if table not in self._sorted:
            rows = getattr(self, table)
            self._sorted[table] = sorted(rows, key=lambda row: (row[key], row["id"]), reverse=True)
        return self._sorted[table]

    def metrics(self, start: int, end: int) -> list[dict]:
        buckets = Counter(
            (o["item_id"], o["timestamp"] // BUCKET * BUCKET) for o in self.occurrences
        )
        return [
            {"item_id": item_id, "timestamp": ts, "occurrences": count}
            for (item_id, ts), count in sorted(buckets.items(), key=lambda kv: kv[0][::-1])
            if start <= ts <= end
        ]

    def top_active(self) -> list[dict]:
        recent = Counter(
            o["item_id"] for o in self.occurrences if o["timestamp"] > self.clock - 30 * DAY
        )
        by_id = {item["id"]: item for item in self.items}
        return [
            {
                "item": {
                    "id": item_id,
                    "counter": by_id[item_id]["counter"],
                    "title": by_id[item_id]["title"],
                    "environment": by_id[item_id]["environment"],
                    "level": by_id[item_id]["level"],
                    "project_id": by_id[item_id]["project_id"],
                    "occurrences": count,
                    "last_occurrence_timestamp": by_id[item_id]["last_occurrence_timestamp"],
                },
                "counts": [count],
            }
            for item_id, count in sorted(recent.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        ]

    def expected_counts(self) -> dict[str, int]:
        return {
            "items": len(self.items),
            "occurrences": len(self.occurrences),
            "items_metrics": len(self.metrics(0, 2**62)),
            "deploys": len(self.deploys),
            "environments": len(self.environments),
            "rql_jobs": len(self.jobs),
            "top_active_items": len(self.top_active()),
            "projects": len(self.projects),
            "teams": len(self.teams),
            "users": len(self.users),
        }

    # -- HTTP ---------------------------------------------------------------------------

    def authorized(self, request: Request) -> bool:
        return request.headers.get("api_key") == self.credentials["api_key"]

    def error(self, status: int, message: str) -> Response:
        return Response({"err": 1, "message": message}, status)

    def ok(self, result: t.Any) -> Response:
        return Response({"err": 0, "result": result})

    def page(self, request: Request, rows: list[dict]) -> tuple[list[dict], int]:
        size = self.page_sizes.get(request.path, self.default_page_size)
        number = int(request.query.get("page", "1"))
        return rows[(number - 1) * size : number * size], number

    @route("GET", "/v1/items")
    def get_items(self, request: Request) -> Response:
        rows, number = self.page(request, self.newest_first("items", "last_occurrence_timestamp"))
        return self.ok({"items": rows, "page": number, "total_count": len(self.items)})

    @route("GET", "/v1/occurrences")
    def get_occurrences(self, request: Request) -> Response:
        rows, number = self.page(request, self.newest_first("occurrences", "timestamp"))
        return self.ok({"instances": rows, "page": number})

    @route("POST", "/v1/metrics/items")
    def post_metrics(self, request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        if not all(isinstance(body.get(k), int) for k in ("start_time", "end_time")):
            return self.error(400, "start_time and end_time (Unix seconds) are required")
        return self.ok({"metrics": self.metrics(body["start_time"], body["end_time"])})

    @route("GET", "/v1/deploys")
    def get_deploys(self, request: Request) -> Response:
        rows, number = self.page(request, self.newest_first("deploys", "start_time"))
        return self.ok({"deploys": rows, "page": number})

    @route("GET", "/v1/environments")
    def get_environments(self, request: Request) -> Response:
        rows, number = self.page(request, self.environments)
        return self.ok({"environments": rows, "page": number})

    @route("GET", "/v1/rql/jobs")
    def get_jobs(self, request: Request) -> Response:
        rows, number = self.page(request, self.jobs)
        return self.ok({"jobs": rows, "page": number})

    @route("GET", "/v1/reports/top_active_items")
    def get_top_active_items(self, request: Request) -> Response:
        return self.ok(self.top_active())

    @route("GET", "/v1/projects")
    def get_projects(self, request: Request) -> Response:
        return self.ok(self.projects)

    @route("GET", "/v1/teams")
    def get_teams(self, request: Request) -> Response:
        return self.ok(self.teams)

    @route("GET", "/v1/users")
    def get_users(self, request: Request) -> Response:
        return self.ok({"users": self.users})


API = ErrorTrackingAPI
