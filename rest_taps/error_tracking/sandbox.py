"""Sandbox of the error-tracking API.

Header `api_key`; bodies `{"err": 0, "result": …}` (errors `{"err": 1, "message": …}`);
page-number pagination with fixed page sizes (100 for items, 20 for the others); items,
occurrences and deploys newest first with no server-side time filter; items metrics by
POST with an inclusive `[start_time, end_time]` window, one record per item and hour.

Records have the real API's shapes: big integer ids, Unix-second timestamps next to
millisecond ones, 0/1 integer flags, 0 or "" where nothing was set, an occurrence's whole
error payload under `data` (stack frames, request, person, server, client, telemetry,
account-defined `custom` attributes), severity and framework as names in the items list
but as numeric codes in the top-active report, a person id sent as a numeric string or a
number, and a deleted project still listed with a null name. Some occurrences carry keys
the declared schema leaves to runtime evolution (notifier extras under `server`, `client`
and `client.javascript`, message metadata, network telemetry).

Every stream's records live in `tables` and routes serve from there, so `replace` and
drift mode work on any stream; items metrics and the top-active report are recomputed
from the occurrences by `new_activity`.
"""

from __future__ import annotations

import typing as t
from collections import Counter

from rest_taps.common.sandbox import Request, Response, SandboxAPI, collector_paused, route
from rest_taps.common.sandbox.data import EPOCH, WORDS, email, rng, uid, words

DAY = 86_400
BUCKET = 3_600  # items_metrics: one record per item and hour
TOP_WINDOW = 30 * DAY  # the top-active report covers the last 30 days, in 24 slices
TOP_SIZE = 10
POOL = 32  # distinct error payloads per item kind; an item's occurrences share one
LEVELS = {"critical": 50, "error": 40, "warning": 30, "info": 20, "debug": 10}
LEVEL_NAMES = tuple(LEVELS)
ENVIRONMENTS = ("production", "staging", "development", "qa")
STATUSES = ("active", "active", "resolved", "muted")
#: Item kinds: framework, its numeric code, language, platform, body type.
KINDS = (
    ("python", 13, "python", "linux", "trace"),
    ("node-js", 4, "javascript", "linux", "trace"),
    ("browser-js", 7, "javascript", "browser", "trace_chain"),
    ("ruby", 14, "ruby", "linux", "message"),
    ("ios", 10, "objective-c", "ios", "crash_report"),
)
KIND_INDEX = {kind[0]: i for i, kind in enumerate(KINDS)}
HOSTS = ("api-0", "api-1", "api-2", "api-3")
EXCEPTIONS = ("TypeError", "ValueError", "KeyError", "RuntimeError", "TimeoutError")
ACCOUNT_ID = 530_118
PROJECT_ID = 604_221
ITEM_ID = 272_505_123
OCCURRENCE_ID = 3_209_095_494
DEPLOY_ID = 18_764_002
USER_ID = 238_101


def _number(value: t.Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _code(codes: dict[str, int], value: t.Any) -> int:
    """A severity or framework as the report's numeric code (unknown: 0)."""
    if _number(value):
        return int(value)
    return codes.get(value, 0) if isinstance(value, str) else 0


def _newest_first(rows: list[dict], key: str) -> list[dict]:
    """Rows by `key` (then id) descending; rows without a numeric `key` come last."""

    def order(row: dict) -> tuple:
        value, rid = row.get(key), row.get("id")
        return (_number(value), value if _number(value) else 0, rid if _number(rid) else 0)

    return sorted(rows, key=order, reverse=True)


class ErrorTrackingAPI(SandboxAPI):
    """Synthetic error-tracking API. `records` is the number of items."""

    title = "error-tracking"
    credentials: t.ClassVar[dict[str, str]] = {"api_key": "sandbox-error-tracking-key"}
    default_records = 250
    stable_fields: t.ClassVar[dict[str, tuple[str, ...]]] = {
        "items": ("id", "last_occurrence_timestamp"),
        "occurrences": ("id", "timestamp", "item_id"),
        "items_metrics": ("item_id", "timestamp"),
        "deploys": ("id", "start_time"),
    }
    #: path → (stream, container, newest-first key or None, page size)
    paged: t.ClassVar[dict[str, tuple[str, str, str | None, int]]] = {
        "/v1/items": ("items", "items", "last_occurrence_timestamp", 100),
        "/v1/occurrences": ("occurrences", "instances", "timestamp", 20),
        "/v1/deploys": ("deploys", "deploys", "start_time", 20),
        "/v1/environments": ("environments", "environments", None, 20),
        "/v1/rql/jobs": ("rql_jobs", "jobs", None, 20),
    }
    #: path → (stream, container; None: `result` is the list itself)
    whole: t.ClassVar[dict[str, tuple[str, str | None]]] = {
        "/v1/projects": ("projects", None),
        "/v1/teams": ("teams", None),
        "/v1/users": ("users", "users"),
    }

    def __init__(self, records: int | None = None, seed: int = 0, *, drift: bool = False) -> None:
        super().__init__(records, seed, drift=drift)
        self.clock = EPOCH + 100 * DAY  # the API's "now"; new activity happens after it
        self._sorted: dict[str, list[dict]] = {}
        self._top_counts: dict[t.Any, list[int]] = {}
        with collector_paused():  # millions of new containers: no GC passes meanwhile
            self._build()

    def _build(self) -> None:
        seed = self.seed
        payloads = rng(seed, "payloads")
        self._pool = [[self._payload(kind, payloads) for _ in range(POOL)] for kind in KINDS]
        tables = self.tables
        tables["projects"] = self._projects()
        tables["teams"] = self._teams()
        tables["users"] = self._users()
        self._people = self._persons()
        project_ids = [p["id"] for p in tables["projects"] if p["name"] is not None]
        user_ids = [u["id"] for u in tables["users"]]
        r = rng(seed, "items")
        assignees = (None, None, *user_ids[:3])
        tables["items"] = [self._item(i, r, project_ids, assignees) for i in range(self.records)]
        tables["occurrences"] = []
        occ = rng(seed, "occurrences")
        for item in tables["items"]:
            for _ in range(2):
                self._occur(item, EPOCH + occ.randrange(90 * DAY), occ)
        dep = rng(seed, "deploys")
        tables["deploys"] = []
        for _ in range(self.records // 5):
            self._deploy(EPOCH + dep.randrange(90 * DAY), dep)
        env = rng(seed, "environments")
        tables["environments"] = [
            {
                "id": 91_300 + i,
                "project_id": project_ids[i % len(project_ids)],
                "environment": f"{ENVIRONMENTS[i % 4]}-{i // 4}" if i >= 4 else ENVIRONMENTS[i],
                "visible": int(env.random() > 0.2),
            }
            for i in range(25)
        ]
        tables["rql_jobs"] = self._jobs(project_ids)
        self._derive()

    # -- synthetic records ------------------------------------------------------------

    def _projects(self) -> list[dict]:
        r = rng(self.seed, "projects")
        rows = []
        for i in range(6):
            created = EPOCH - (60 - i) * DAY + r.randrange(DAY)
            settings: dict[str, t.Any] = {
                "grouping": {"auto_upgrade": i % 3 != 2, "recent_versions": ["5.0.0"][: i % 2]}
            }
            if i % 2 == 0:
                settings |= {
                    "integrations": {
                        "email": {"enabled": True},
                        "webhook": {"enabled": i == 0, "url": f"https://hooks.example.com/{i}"},
                    },
                    "time_format": "relative" if i else "absolute",
                    "timezone": "UTC" if i else "America/Los_Angeles",
                    "encryption_at_rest": {"enabled": i == 4},
                }
            rows.append(
                {
                    "id": PROJECT_ID + 3 * i,
                    "account_id": ACCOUNT_ID,
                    # A deleted project stays in the list with a null name.
                    "name": f"{words(r, 1)}-{i + 1}" if i < 5 else None,
                    "status": "enabled",
                    "settings_data": settings,
                    "date_created": created,
                    "date_modified": created + r.randrange(30 * DAY),
                }
            )
        return rows

    def _teams(self) -> list[dict]:
        names = [
            ("Owners", "owner"),
            ("Everyone", "everyone"),
            ("Backend", "standard"),
            ("Frontend", "standard"),
            ("Support", "light"),
            ("Auditors", "view"),
        ]
        return [
            {"id": 662_036 + 11 * i, "account_id": ACCOUNT_ID, "name": name, "access_level": level}
            for i, (name, level) in enumerate(names)
        ]

    def _users(self) -> list[dict]:
        r = rng(self.seed, "users")
        return [
            {
                "id": USER_ID + 97 * i,
                "username": f"{r.choice(WORDS)}{i + 1}",
                "email": email(r),
                "email_enabled": int(i % 4 != 3),
            }
            for i in range(12)
        ]

    def _persons(self) -> list[dict]:
        """People affected by errors: ids as numeric strings, some as numbers."""
        r = rng(self.seed, "persons")
        people = []
        for i in range(40):
            pid: t.Any = str(10_000 + 37 * i) if i % 5 else 10_000 + 37 * i
            people.append({"id": pid, "username": f"{r.choice(WORDS)}_{i}", "email": email(r)})
        return people

    def _item(self, i: int, r: t.Any, project_ids: list[int], assignees: tuple) -> dict:
        framework, _, _, platform, _ = KINDS[i % len(KINDS)]
        rand = r.random  # picks by hand: `choice` would double the build time at 100k
        status = STATUSES[int(rand() * 4)]
        resolved = status == "resolved"
        item = {
            "id": ITEM_ID + 3 * i,
            "project_id": project_ids[i % len(project_ids)],
            "counter": i + 1,
            "title": None,
            "level": LEVEL_NAMES[int(rand() * 5)],
            "status": status,
            "environment": ENVIRONMENTS[int(rand() * 4)],
            "framework": framework,
            "platform": platform,
            "hash": f"{r.getrandbits(160):040x}",
            "assigned_user_id": assignees[int(rand() * len(assignees))],
            "total_occurrences": 0,
            "unique_occurrences": 0,
            "first_occurrence_id": None,
            "first_occurrence_timestamp": None,
            "last_occurrence_id": None,
            "last_occurrence_timestamp": None,
            "activating_occurrence_id": None,
            "last_activated_timestamp": None,
            "last_resolved_timestamp": EPOCH + 95 * DAY + int(rand() * DAY) if resolved else 0,
            "resolved_in_version": f"{r.getrandbits(28):07x}" if resolved else "",
            "last_modified_by": assignees[-1] if status != "active" else 0,
            "controlling_id": ITEM_ID + 3 * i,
            "group_item_id": None,
            "group_status": 1,
            "public_item_id": None,
            "level_lock": 0,
            "title_lock": int(i % 17 == 0),
            "integrations_data": "",
        }
        item["title"] = self._payload_of(item)["title"]
        return item

    def _payload_of(self, item: dict) -> dict:
        """The error payload an item's occurrences share (picked by kind and id)."""
        framework, rid = item.get("framework"), item.get("id")
        kind = KIND_INDEX.get(framework, 0) if isinstance(framework, str) else 0
        return self._pool[kind][rid // 3 % POOL if type(rid) is int else 0]

    def _payload(self, kind: tuple, r: t.Any) -> dict:
        """One occurrence payload of an item kind, without the per-occurrence keys."""
        framework, _, language, platform, body_type = kind
        ext = {"python": "py", "javascript": "js", "ruby": "rb"}.get(language, "m")
        exc_class, message = r.choice(EXCEPTIONS), words(r, 3)
        version = f"{r.getrandbits(160):040x}"
        trace = {
            "frames": [
                {
                    "filename": f"/srv/app/{words(r, 1)}/{words(r, 1)}.{ext}",
                    "lineno": r.randrange(1, 900),
                    "method": words(r, 1),
                    "code": f"{words(r, 1)}({words(r, 1)})",
                    "context": {"pre": [f"{words(r, 1)} = None"], "post": []},
                    "args": ["<Request object>", r.randrange(100)],
                    "kwargs": {"force": True},
                }
                for _ in range(3)
            ],
            "exception": {"class": exc_class, "message": message},
        }
        data: dict[str, t.Any] = {
            "title": f"{exc_class}: {message}",
            "platform": platform,
            "language": language,
            "framework": framework,
            "code_version": version[:12],
            "notifier": {"name": f"{language}-notifier", "version": f"1.{r.randrange(9)}.0"},
            "custom": {"customer_tier": r.choice(("free", "team", "enterprise")), "shard": 3},
        }
        if body_type == "trace":
            data["body"] = {"trace": trace}
            data["context"] = f"{words(r, 1)}#{words(r, 1)}"
            data["request"] = {
                "url": f"https://app.example.com/{words(r, 1)}/{r.randrange(1000)}",
                "method": r.choice(("GET", "POST")),
                "headers": {"Accept": "text/html", "User-Agent": "Mozilla/5.0"},
                "params": {"controller": words(r, 1), "action": "index"},
                "GET": {},
                "POST": {},
                "query_string": "",
                "body": "",
                "user_ip": f"203.0.113.{r.randrange(1, 255)}",
            }
            # Keys beyond the documented ones, as notifiers send them.
            data["server"] = {
                "host": f"web-{r.randrange(1, 9)}",
                "root": "/srv/app",
                "branch": "main",
                "code_version": version,
                "pid": r.randrange(100, 60_000),
                "argv": ["/srv/app/bin/serve", "--workers", "4"],
            }
        elif body_type == "trace_chain":
            for frame in trace["frames"]:
                frame["colno"] = r.randrange(1, 120)
            data["body"] = {
                "trace_chain": [trace],
                "telemetry": [
                    {
                        "level": "info",
                        "type": "log",
                        "source": "client",
                        "body": {"message": "ready"},
                    },
                    {
                        "level": "info",
                        "type": "navigation",
                        "source": "client",
                        "body": {"from": "/home", "to": f"/{words(r, 1)}"},
                    },
                    {
                        "level": "error",
                        "type": "network",
                        "source": "client",
                        "body": {
                            "subtype": "xhr",
                            "method": "GET",
                            "url": "/api/me",
                            "status_code": 502,
                        },
                    },
                ],
            }
            data["client"] = {
                "runtime_ms": r.randrange(100, 90_000),
                "javascript": {
                    "browser": "Mozilla/5.0 (X11; Linux x86_64)",
                    "code_version": version[:12],
                    "source_map_enabled": True,
                    "guess_uncaught_frames": False,
                    "language": "en-US",
                    "cookie_enabled": True,
                    "screen": {"width": 1920, "height": 1080},
                },
            }
            data["request"] = {"url": f"https://app.example.com/{words(r, 1)}", "query_string": ""}
        elif body_type == "message":
            data["body"] = {
                "message": {
                    "body": f"{exc_class}: {message}",
                    "route": f"{words(r, 1)}#index",
                    "time_elapsed": round(r.uniform(10, 20), 2),
                }
            }
            data["server"] = {"host": f"worker-{r.randrange(1, 5)}", "root": "/srv/app"}
        else:  # crash_report
            data["body"] = {"crash_report": {"raw": f"Incident Identifier: {uid(r)}\n..."}}
            data["client"] = {
                "ios": {
                    "app_name": "Field",
                    "bundle_identifier": "com.example.field",
                    "code_version": version[:7],
                    "device_code": "iPhone14,2",
                    "os": "iOS",
                    "os_version": "17.2",
                    "short_version": "4.2",
                }
            }
        return data

    def _occur(self, item: dict, ts: int, r: t.Any) -> None:
        """A new occurrence of `item` at `ts`, and the item's counters updated."""
        occurrences, rand, people = self.tables["occurrences"], r.random, self._people
        oid = OCCURRENCE_ID + 7 * len(occurrences)
        data = {
            **self._payload_of(item),
            "environment": item.get("environment"),
            "level": item.get("level"),
            "timestamp": ts - int(rand() * 3),  # the client's clock
            "uuid": f"{r.getrandbits(128):032x}",
            "person": people[int(rand() * len(people))],
            "metadata": {
                "api_server_hostname": HOSTS[oid % 4],
                "timestamp_ms": ts * 1000 + int(rand() * 1000),  # received, in milliseconds
            },
        }
        if data["platform"] == "browser":
            data["client"] = {**data["client"], "timestamp": ts}
        occurrences.append(
            {
                "id": oid,
                "project_id": item.get("project_id"),
                "timestamp": ts,
                "version": 1,
                "billable": 1,
                "item_id": item.get("id"),
                "data": data,
            }
        )
        total = item.get("total_occurrences")
        if type(total) is not int:
            return  # drifted or replaced: leave the item as it is
        item["total_occurrences"] = total + 1
        item["unique_occurrences"] = (total + 2) // 2
        first = item.get("first_occurrence_timestamp")
        if type(first) is not int or ts < first:
            item["first_occurrence_timestamp"] = item["last_activated_timestamp"] = ts
            item["first_occurrence_id"] = item["activating_occurrence_id"] = oid
        last = item.get("last_occurrence_timestamp")
        if type(last) is not int or ts >= last:
            item["last_occurrence_timestamp"], item["last_occurrence_id"] = ts, oid

    def _deploy(self, ts: int, r: t.Any) -> None:
        """A new deploy started at `ts`."""
        status = r.choice(("succeeded", "succeeded", "failed", "started", "timed_out"))
        deploys, rand = self.tables["deploys"], r.random
        deploys.append(
            {
                "id": DEPLOY_ID + 13 * len(deploys),
                "project_id": PROJECT_ID + 3 * int(rand() * 5),
                "environment": ENVIRONMENTS[int(rand() * 4)],
                "revision": f"{r.getrandbits(160):040x}",
                "status": status,
                "local_username": f"{r.choice(WORDS)}-deploy",
                "user_id": USER_ID + 97 * int(rand() * 12) if rand() < 0.5 else None,
                "comment": words(r, 4) if rand() < 0.5 else None,
                "start_time": ts,
                "finish_time": None if status == "started" else ts + r.randrange(30, 900),
            }
        )

    def _jobs(self, project_ids: list[int]) -> list[dict]:
        """RQL jobs, newest (highest id) first, as the API lists them."""
        r = rng(self.seed, "rql_jobs")
        statuses = ("new", "running", "success", "failed", "cancelled", "timed_out")
        jobs = []
        for i in range(45):
            created = EPOCH + r.randrange(90 * DAY)
            level = LEVEL_NAMES[i % 5]
            jobs.append(
                {
                    "id": 8_100_500 + 3 * i,
                    "project_id": project_ids[i % len(project_ids)],
                    "project_group_id": None if i % 3 else 70 + i % 2,
                    "query_string": f"SELECT * FROM item_occurrence WHERE level = '{level}'",
                    "status": r.choice(statuses),
                    "job_hash": f"{r.getrandbits(72):018x}",
                    "date_created": created,
                    "date_modified": created + r.randrange(600),
                }
            )
        return jobs[::-1]

    # -- derived tables and data changes ----------------------------------------------

    def _derive(self) -> None:
        """Recompute items metrics and the top-active report from the occurrences."""
        occurrences = [o for o in self.tables["occurrences"] if type(o.get("timestamp")) is int]
        buckets = Counter(
            (o["timestamp"] // BUCKET * BUCKET, o.get("item_id")) for o in occurrences
        )
        self.tables["items_metrics"] = [
            {"item_id": item_id, "timestamp": ts, "occurrences": buckets[ts, item_id]}
            for ts, item_id in sorted(buckets)
        ]
        start = self.clock - TOP_WINDOW
        slices: dict[t.Any, list[int]] = {}
        for o in occurrences:
            if o["timestamp"] > start:
                counts = slices.setdefault(o.get("item_id"), [0] * 24)
                counts[min(23, (o["timestamp"] - start) * 24 // TOP_WINDOW)] += 1
        by_id = {item.get("id"): item for item in self.tables["items"]}
        active = [by_id[i] for i in slices if i in by_id]
        active.sort(key=lambda it: (-_code(LEVELS, it.get("level")), -sum(slices[it["id"]])))
        frameworks = {k[0]: k[1] for k in KINDS}
        self.tables["top_active_items"] = [
            {
                "id": item["id"],
                "counter": item.get("counter"),
                "environment": item.get("environment"),
                "framework": _code(frameworks, item.get("framework")),
                "last_occurrence_timestamp": item.get("last_occurrence_timestamp"),
                "level": _code(LEVELS, item.get("level")),
                "occurrences": sum(slices[item["id"]]),
                "project_id": item.get("project_id"),
                "title": item.get("title"),
                "unique_occurrences": item.get("unique_occurrences"),
                "group_status": item.get("group_status"),
            }
            for item in active[:TOP_SIZE]
        ]
        self._top_counts = {item["id"]: slices[item["id"]] for item in active[:TOP_SIZE]}
        self.changed()

    def new_activity(self, items: int = 5, occurrences: int = 3, deploys: int = 2) -> None:
        """After `clock`: `occurrences` new occurrences on each of `items` existing items,
        `deploys` new deploys, and the clock moves past them. Items metrics and the
        top-active report are recomputed."""
        r = rng(self.seed, f"activity{self.clock}")
        with self.lock:
            for item in self.tables["items"][:items]:
                for _ in range(occurrences):
                    self.clock += 7
                    self._occur(item, self.clock, r)
            for _ in range(deploys):
                self.clock += 11
                self._deploy(self.clock, r)
            self.clock += 1
            self._derive()

    def changed(self) -> None:
        self._sorted.clear()

    # -- views --------------------------------------------------------------------------

    def newest_first(self, stream: str, key: str) -> list[dict]:
        """A stream's records newest first (cached until the data changes)."""
        if stream not in self._sorted:
            self._sorted[stream] = _newest_first(self.tables[stream], key)
        return self._sorted[stream]

    def metrics(self, start: int, end: int) -> list[dict]:
        """Items metrics with `start <= timestamp <= end` (a record without a numeric
        timestamp belongs to every window)."""
        return [
            m
            for m in self.tables["items_metrics"]
            if not _number(m.get("timestamp")) or start <= m["timestamp"] <= end
        ]

    def top_active(self) -> list[dict]:
        """The report's elements: each record as `item`, with its 24 counts (oldest first)."""
        return [
            {"item": item, "counts": self._top_counts.get(item.get("id"), [])}
            for item in self.tables["top_active_items"]
        ]

    # -- HTTP ---------------------------------------------------------------------------

    def authorized(self, request: Request) -> bool:
        return request.headers.get("api_key") == self.credentials["api_key"]

    def error(self, status: int, message: str) -> Response:
        return Response({"err": 1, "message": message}, status)

    def ok(self, result: t.Any) -> Response:
        return Response({"err": 0, "result": result})

    @route("GET", *paged)
    def get_page(self, request: Request) -> Response:
        stream, container, key, size = self.paged[request.path]
        rows = self.newest_first(stream, key) if key else self.tables[stream]
        number = int(request.query.get("page", "1"))
        result = {container: rows[(number - 1) * size : number * size], "page": number}
        if stream == "items":
            result["total_count"] = len(rows)
        return self.ok(result)

    @route("GET", *whole)
    def get_whole(self, request: Request) -> Response:
        stream, container = self.whole[request.path]
        rows = self.tables[stream]
        return self.ok({container: rows} if container else rows)

    @route("GET", "/v1/reports/top_active_items")
    def get_top_active_items(self, request: Request) -> Response:
        return self.ok(self.top_active())

    @route("POST", "/v1/metrics/items")
    def post_metrics(self, request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        if not all(isinstance(body.get(k), int) for k in ("start_time", "end_time")):
            return self.error(400, "start_time and end_time (Unix seconds) are required")
        return self.ok({"metrics": self.metrics(body["start_time"], body["end_time"])})


API = ErrorTrackingAPI
