"""Sandbox of the customer-messaging API (seed 002, CONTRACT.md section 002).

`Authorization: Bearer <access_token>` and `Accept: application/json` on every request;
times are integer Unix seconds; errors are `{"type": "error.list", "errors": [{"code",
"message"}]}`. Four ways to page:

- next cursor (`activity_logs`, `segments`): `pages.next` is an opaque string or null,
  sent back as `?next=`; activity logs require `created_at_after` and come oldest first;
- scroll (`companies`): `GET /v1/companies/scroll`, then `?scroll_param=` (the same value
  on every page of one scroll) until `data` is empty;
- search (`contacts`, `conversations`, `tickets`): `POST` with a query on `updated_at`
  (`>`, `>=`, `=`, `<`, `<=`, combined by `AND`/`OR`), sorted `updated_at` ascending,
  `pagination.per_page` (at most 150) and `pagination.starting_after`; `pages.next` is
  absent on the last page;
- one page: admins, tags, teams, data attributes, a conversation's parts, a company's
  segments.

Every response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (Unix seconds, the end of the current fixed window). A request made
after the window's quota is spent gets 429. The quota is `rate_limit=(requests, seconds)`;
the default (100 000 a 10 s window) never binds.
"""

from __future__ import annotations

import json
import math
import time
import typing as t
from bisect import bisect_left, bisect_right

from taps.common.sandbox import Request, Response, SandboxAPI, route
from taps.common.sandbox.data import EPOCH, email, opaque, rng, unopaque, words

DAY = 86_400
SPAN = 90 * DAY  # synthetic records are created within 90 days of EPOCH
NEVER = 2**62  # an open upper bound
MAX_PER_PAGE = 150
PAGE_SIZES = {"activity_logs": 50, "segments": 5, "companies": 25}
ERROR_CODES = {
    400: "parameter_invalid",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    429: "rate_limit_exceeded",
}
DEFAULT_RATE_LIMIT = (100_000, 10)


class QueryError(ValueError):
    """A search query the API does not accept."""


def encode_cursor(*parts: t.Any) -> str:
    """An opaque cursor for `parts`."""
    return opaque(json.dumps(parts))


def decode_cursor(token: str, size: int) -> list[int]:
    """The parts of a cursor made by `encode_cursor`, or QueryError."""
    text = unopaque(token)
    try:
        parts = json.loads(text) if text is not None else None
    except ValueError:
        parts = None
    if not isinstance(parts, list) or len(parts) != size:
        msg = f"cursor {token!r} is invalid"
        raise QueryError(msg)
    return parts


def is_int(value: t.Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def interval(query: t.Any, field: str = "updated_at") -> tuple[int, int]:
    """The half-open range `[lo, hi)` of `field` a search query selects.

    The sandbox accepts what the taps send: comparisons of `field` with an integer,
    combined with AND, and OR of ranges that touch (`> v` OR `= v`).
    """
    if not isinstance(query, dict):
        msg = "query must be an object"
        raise QueryError(msg)
    op, value = query.get("operator"), query.get("value")
    if op in {"AND", "OR"}:
        if not isinstance(value, list) or not value:
            msg = f"{op} needs a non-empty list of queries"
            raise QueryError(msg)
        parts = [interval(q, field) for q in value]
        if op == "AND":
            return max(lo for lo, _ in parts), min(hi for _, hi in parts)
        ranges = sorted((lo, hi) for lo, hi in parts if lo < hi) or [(0, 0)]
        lo, hi = ranges[0]
        for a, b in ranges[1:]:
            if a > hi:
                msg = "the sandbox supports OR of adjacent ranges only"
                raise QueryError(msg)
            hi = max(hi, b)
        return lo, hi
    if query.get("field") != field:
        msg = f"search supports field {field!r}, got {query.get('field')!r}"
        raise QueryError(msg)
    if not is_int(value):
        msg = f"{field} must be compared with an integer (Unix seconds), got {value!r}"
        raise QueryError(msg)
    bounds = {
        ">": (value + 1, NEVER),
        ">=": (value, NEVER),
        "=": (value, value + 1),
        "<": (-NEVER, value),
        "<=": (-NEVER, value + 1),
    }
    if op not in bounds:
        msg = f"operator {op!r} is not supported"
        raise QueryError(msg)
    return bounds[op]


class CustomerMessagingAPI(SandboxAPI):
    """Synthetic customer-messaging API. `records` is the number of contacts (and
    activity logs); there are a quarter as many companies, half as many conversations
    and a third as many tickets."""

    title = "customer-messaging"
    credentials: t.ClassVar[dict[str, str]] = {"access_token": "sandbox-customer-messaging-token"}
    default_records = 300

    def __init__(
        self,
        records: int | None = None,
        seed: int = 0,
        rate_limit: tuple[int, float] | None = None,
    ) -> None:
        super().__init__(records, seed)
        self.clock = EPOCH + 100 * DAY  # the API's "now"; new activity happens after it
        self.rate_limit = rate_limit or DEFAULT_RATE_LIMIT
        #: (arrival, remaining, reset, status) per request, kept when a quota is given.
        self.rate_log: list[tuple[float, int, int, int]] = []
        self._keep_rate_log = rate_limit is not None
        self._window_start = -1.0
        self._used = 0
        self._views: dict[str, tuple[list[dict], list[tuple[int, int]]]] = {}
        self._scrolls: dict[str, int] = {}
        #: Parents deleted after the list was read: their detail/children answer 404.
        self.gone: dict[str, set[int]] = {"companies": set(), "conversations": set()}
        n = self.records
        self.admins = self._make_admins()
        self.teams = [
            {
                "id": 300 + i,
                "type": "team",
                "name": name,
                "admin_ids": [a["id"] for a in self.admins if a["team_ids"] == [300 + i]],
            }
            for i, name in enumerate(("Support", "Sales", "Success", "Billing"))
        ]
        r = rng(seed, "tags")
        self.tags = [{"id": 80 + i, "type": "tag", "name": words(r, 2)} for i in range(15)]
        r = rng(seed, "segments")
        self.segments = [
            {
                "id": 900 + i,
                "type": "segment",
                "name": f"{words(r, 2)} {i}",
                "created_at": EPOCH + r.randrange(30 * DAY),
                "updated_at": EPOCH + 30 * DAY + r.randrange(30 * DAY),
                "person_type": r.choice(("user", "lead")),
                "count": r.choice((None, r.randrange(1, 500))),
            }
            for i in range(12)
        ]
        self.company_attributes = self._make_attributes("company", 9)
        self.contact_attributes = self._make_attributes("contact", 12)
        r = rng(seed, "companies")
        self.companies = [self._company(i, r) for i in range(max(1, n // 4))]
        r = rng(seed, "company_segments")
        self.company_segment_ids = {
            c["id"]: sorted(r.sample(range(900, 912), 1 if i == 0 else r.randrange(4)))
            for i, c in enumerate(self.companies)
        }
        r = rng(seed, "contacts")
        self.contacts = [self._contact(i, r) for i in range(n)]
        self.conversations: list[dict] = []
        self.parts: dict[int, list[dict]] = {}
        self._part_ids = 0
        r = rng(seed, "conversations")
        for i in range(max(1, n // 2)):
            conversation = self._conversation(i, r)
            self.conversations.append(conversation)
            self.parts[conversation["id"]] = []
            for _ in range(r.randrange(1, 5)):
                self._add_part(conversation, conversation["created_at"] + r.randrange(DAY), r)
        r = rng(seed, "tickets")
        self.tickets = [self._ticket(i, r) for i in range(max(1, n // 3))]
        self.conversation_by_id = {c["id"]: c for c in self.conversations}
        r = rng(seed, "activity_logs")
        self.activity_logs: list[dict] = []
        for _ in range(n):
            self._add_activity(EPOCH + r.randrange(SPAN), r)

    # -- synthetic records ----------------------------------------------------------------

    def _make_admins(self) -> list[dict]:
        r = rng(self.seed, "admins")
        return [
            {
                "id": 100 + i,
                "type": "admin",
                "name": words(r, 2).title(),
                "email": email(r, "support.example.com"),
                "job_title": r.choice((None, "Support engineer", "Account manager")),
                "away_mode_enabled": r.random() < 0.2,
                "away_mode_reassign": r.random() < 0.5,
                "has_inbox_seat": r.random() < 0.8,
                "team_ids": [300 + i % 4],
                "avatar": {"image_url": f"https://static.example.com/avatars/{100 + i}.png"}
                if i % 3
                else None,
            }
            for i in range(8)
        ]

    def _make_attributes(self, model: str, count: int) -> list[dict]:
        r = rng(self.seed, f"{model}_attributes")
        types = ("string", "integer", "float", "boolean", "date")
        rows = []
        for i in range(count):
            custom = i >= count // 2
            name = f"{'custom_' if custom else ''}{words(r, 1)}_{i}"
            rows.append(
                {
                    "type": "data_attribute",
                    "id": 7000 + i if custom else None,
                    "model": model,
                    "name": name,
                    "full_name": f"custom_attributes.{name}" if custom else name,
                    "label": name.replace("_", " ").title(),
                    "description": words(r, 4),
                    "data_type": r.choice(types),
                    "options": ["a", "b"] if custom and i % 2 else None,
                    "api_writable": custom,
                    "ui_writable": custom,
                    "custom": custom,
                    "archived": custom and i % 5 == 0,
                    "created_at": EPOCH + r.randrange(SPAN) if custom else None,
                    "updated_at": EPOCH + r.randrange(SPAN) if custom else None,
                    "admin_id": str(100 + r.randrange(8)) if custom else None,
                }
            )
        return rows

    def _company(self, i: int, r: t.Any) -> dict:
        created = EPOCH + r.randrange(SPAN)
        return {
            "id": 5000 + i,
            "type": "company",
            "name": f"{words(r, 2).title()} Ltd",
            "created_at": created,
            "updated_at": created + r.randrange(10 * DAY),
            "last_request_at": r.choice((None, created + r.randrange(20 * DAY))),
            "monthly_spend": round(r.uniform(0, 5000), 2),
            "session_count": r.randrange(1000),
            "user_count": r.randrange(1, 200),
            "size": r.choice((None, 5, 50, 500)),
            "website": r.choice((None, f"https://{r.choice(('acme', 'globex'))}{i}.example")),
            "industry": r.choice((None, "Software", "Retail", "Finance")),
            "plan": {"type": "plan", "id": 40 + i % 3, "name": ("Free", "Pro", "Enterprise")[i % 3]}
            if i % 4
            else None,
            "tag_ids": sorted(r.sample(range(80, 95), r.randrange(3))),
        }

    def _contact(self, i: int, r: t.Any) -> dict:
        created = EPOCH + r.randrange(SPAN)
        role = r.choice(("user", "lead"))
        return {
            "id": 10_000 + i,
            "type": "contact",
            "workspace_id": "sandbox",
            "external_id": f"ext-{i}" if role == "user" else None,
            "role": role,
            "email": email(r),
            "phone": r.choice((None, f"+1555{r.randrange(10**6):06d}")),
            "name": r.choice((None, words(r, 2).title())),
            "owner_id": r.choice((None, *range(100, 108))),
            "has_hard_bounced": r.random() < 0.05,
            "unsubscribed_from_emails": r.random() < 0.1,
            "created_at": created,
            "updated_at": created + r.randrange(5 * DAY),
            "signed_up_at": created if role == "user" else None,
            "last_seen_at": r.choice((None, created + r.randrange(5 * DAY))),
            "location": {
                "type": "location",
                "country": r.choice(("France", "Germany", "United States")),
                "region": r.choice((None, "North", "South")),
                "city": r.choice((None, "Paris", "Berlin", "Austin")),
            },
            "company_ids": sorted({5000 + r.randrange(len(self.companies))}),
        }

    def _conversation(self, i: int, r: t.Any) -> dict:
        created = EPOCH + r.randrange(SPAN)
        state = r.choice(("open", "closed", "snoozed"))
        return {
            "id": 20_000 + i,
            "type": "conversation",
            "title": r.choice((None, words(r, 3))),
            "created_at": created,
            "updated_at": created,
            "waiting_since": created if state == "open" else None,
            "snoozed_until": created + DAY if state == "snoozed" else None,
            "open": state == "open",
            "state": state,
            "read": r.random() < 0.7,
            "priority": r.choice(("priority", "not_priority")),
            "admin_assignee_id": r.choice((None, *range(100, 108))),
            "team_assignee_id": r.choice((None, 300, 301, 302, 303)),
            "contact_ids": [10_000 + r.randrange(max(1, self.records))],
            "source": {
                "type": "conversation",
                "delivered_as": r.choice(("customer_initiated", "admin_initiated")),
                "subject": words(r, 3),
                "author": {"type": "user", "id": 10_000 + r.randrange(max(1, self.records))},
            },
        }

    def _add_part(self, conversation: dict, ts: int, r: t.Any) -> None:
        self._part_ids += 1
        kind = r.choice(("comment", "comment", "note", "assignment", "close"))
        admin = 100 + r.randrange(8)
        self.parts[conversation["id"]].append(
            {
                "id": 30_000_000 + self._part_ids,
                "type": "conversation_part",
                "part_type": kind,
                "body": f"<p>{words(r, 6)}</p>" if kind in {"comment", "note"} else None,
                "created_at": ts,
                "updated_at": ts,
                "notified_at": ts,
                "assigned_to": {"type": "admin", "id": admin} if kind == "assignment" else None,
                "author": {"type": "admin", "id": admin, "name": None, "email": None},
                "redacted": False,
            }
        )
        conversation["updated_at"] = max(conversation["updated_at"], ts)

    def _ticket(self, i: int, r: t.Any) -> dict:
        created = EPOCH + r.randrange(SPAN)
        state = r.choice(("submitted", "in_progress", "waiting_on_customer", "resolved"))
        return {
            "id": 40_000 + i,
            "type": "ticket",
            "title": words(r, 3),
            "description": r.choice((None, words(r, 8))),
            "category": r.choice(("Customer", "Back-office", "Tracker")),
            "ticket_state": state,
            "open": state != "resolved",
            "is_shared": r.random() < 0.5,
            "admin_assignee_id": r.choice((None, *range(100, 108))),
            "team_assignee_id": r.choice((None, 300, 301)),
            "contact_ids": [10_000 + r.randrange(max(1, self.records))],
            "created_at": created,
            "updated_at": created + r.randrange(3 * DAY),
        }

    def _add_activity(self, ts: int, r: t.Any) -> None:
        admin = self.admins[r.randrange(len(self.admins))]
        kind = r.choice(("admin_login_success", "app_name_change", "conversation_topic_change"))
        self.activity_logs.append(
            {
                "id": 60_000 + len(self.activity_logs),
                "performed_by": {
                    "type": "admin",
                    "id": admin["id"],
                    "email": admin["email"],
                    "ip": f"10.0.{r.randrange(256)}.{r.randrange(256)}",
                },
                "metadata": {"before": r.choice((None, words(r, 1))), "after": words(r, 1)},
                "created_at": ts,
                "activity_type": kind,
                "activity_description": f"{admin['name']}: {kind.replace('_', ' ')}",
            }
        )

    # -- data changes (used by incremental tests) ------------------------------------------

    def new_activity(
        self, contacts: int = 4, conversations: int = 3, tickets: int = 3, logs: int = 5
    ) -> None:
        """After `clock`: update the first `contacts`, `conversations` (one new part each)
        and `tickets`, create one new record of each of those, add `logs` activity logs,
        and move the clock past all of it."""
        r = rng(self.seed, f"activity{self.clock}")
        with self.lock:
            for row in self.contacts[:contacts]:
                self.clock += 7
                row["updated_at"] = self.clock
            self.contacts.append(self._contact(len(self.contacts), r))
            self.contacts[-1]["created_at"] = self.contacts[-1]["updated_at"] = self.clock
            for row in self.conversations[:conversations]:
                self.clock += 7
                self._add_part(row, self.clock, r)
            conversation = self._conversation(len(self.conversations), r)
            conversation["created_at"] = conversation["updated_at"] = self.clock
            self.conversations.append(conversation)
            self.conversation_by_id[conversation["id"]] = conversation
            self.parts[conversation["id"]] = []
            self._add_part(conversation, self.clock, r)
            for row in self.tickets[:tickets]:
                self.clock += 7
                row["updated_at"] = self.clock
            self.tickets.append(self._ticket(len(self.tickets), r))
            self.tickets[-1]["created_at"] = self.tickets[-1]["updated_at"] = self.clock
            for _ in range(logs):
                self.clock += 3
                self._add_activity(self.clock, r)
            self.clock += 1
            self._views.clear()

    def delete_parent(self, stream: str, record_id: int) -> None:
        """Delete a company or conversation after its list was read: its detail and
        children answer 404 while list pages still show it."""
        with self.lock:
            self.gone[stream].add(record_id)

    # -- views ---------------------------------------------------------------------------

    def view(self, table: str, key: str) -> tuple[list[dict], list[tuple[int, int]]]:
        """`table` sorted by (key, id), with its sort keys (cached until data changes)."""
        if table not in self._views:
            rows = sorted(getattr(self, table), key=lambda row: (row[key], row["id"]))
            self._views[table] = rows, [(row[key], row["id"]) for row in rows]
        return self._views[table]

    def company_segments(self, company_id: int) -> list[dict]:
        by_id = {s["id"]: s for s in self.segments}
        return [by_id[i] for i in self.company_segment_ids.get(company_id, [])]

    def expected_counts(self) -> dict[str, int]:
        gone = self.gone
        return {
            "activity_logs": len(self.activity_logs),
            "admins": len(self.admins),
            "tags": len(self.tags),
            "teams": len(self.teams),
            "segments": len(self.segments),
            "companies": len(self.companies),
            "company_attributes": len(self.company_attributes),
            "contact_attributes": len(self.contact_attributes),
            "contacts": len(self.contacts),
            "conversations": len(self.conversations),
            "conversation_parts": sum(
                len(parts) for cid, parts in self.parts.items() if cid not in gone["conversations"]
            ),
            "company_segments": sum(
                len(ids)
                for cid, ids in self.company_segment_ids.items()
                if cid not in gone["companies"]
            ),
            "tickets": len(self.tickets),
        }

    # -- HTTP: authentication, rate limit, errors ----------------------------------------------

    def authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.credentials['access_token']}"

    def error(self, status: int, message: str) -> Response:
        code = ERROR_CODES.get(status, "server_error" if status >= 500 else "client_error")
        return Response(
            {"type": "error.list", "errors": [{"code": code, "message": message}]}, status
        )

    def handle(self, request: Request) -> Response:
        limit, window = self.rate_limit
        now = time.time()
        with self.lock:
            start = math.floor(now / window) * window
            if start != self._window_start:
                self._window_start, self._used = start, 0
            reset = math.ceil(start + window)
            spent = self._used >= limit
            self._used += not spent
            remaining = limit - self._used
            if spent:
                response = self.error(429, "Rate limit exceeded: wait for X-RateLimit-Reset")
                response.headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
            elif not self.authorized(request):
                response = self.error(401, "Access Token Invalid")
            elif "application/json" not in request.headers.get("accept", ""):
                response = self.error(406, "Accept: application/json is required")
            else:
                response = super().handle(request)
            if self._keep_rate_log:
                self.rate_log.append((now, remaining, reset, response.status))
        response.headers.update(
            {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(reset),
            }
        )
        return response

    # -- HTTP: paging helpers ---------------------------------------------------------------

    def next_cursor_page(
        self, request: Request, rows: list[dict], keys: list[tuple[int, int]], start: int
    ) -> tuple[list[dict], str | None]:
        """A page of `rows` from `start` on (after `?next=`), and the next cursor."""
        if "next" in request.query:
            after = tuple(decode_cursor(request.query["next"], 2))
            start = max(start, bisect_right(keys, after))
        size = PAGE_SIZES[request.path.rsplit("/", 1)[-1]]
        page = rows[start : start + size]
        more = start + size < len(rows)
        return page, encode_cursor(*keys[start + size - 1]) if more else None

    def search(self, request: Request, table: str, container: str, list_type: str) -> Response:
        body = request.body
        try:
            if not isinstance(body, dict):
                raise QueryError("the body must be a JSON object")  # noqa: TRY301
            lo, hi = interval(body.get("query"))
            if body.get("sort") != {"field": "updated_at", "order": "ascending"}:
                raise QueryError("sort must be updated_at ascending")  # noqa: TRY301
            pagination = body.get("pagination") or {}
            per_page = pagination.get("per_page", 50)
            if not is_int(per_page) or not 1 <= per_page <= MAX_PER_PAGE:
                raise QueryError(f"per_page must be 1 to {MAX_PER_PAGE}")  # noqa: TRY301
            rows, keys = self.view(table, "updated_at")
            first = bisect_left(keys, (lo, -1))
            end = bisect_left(keys, (hi, -1))
            start = first
            if pagination.get("starting_after") is not None:
                after = tuple(decode_cursor(str(pagination["starting_after"]), 2))
                start = max(first, bisect_right(keys, after))
        except QueryError as exc:
            return self.error(400, str(exc))
        stop = min(start + per_page, end)
        total = max(0, end - first)
        pages: dict[str, t.Any] = {
            "type": "pages",
            "page": (start - first) // per_page + 1,
            "per_page": per_page,
            "total_pages": math.ceil(total / per_page),
        }
        if stop < end:
            pages["next"] = {
                "page": pages["page"] + 1,
                "starting_after": encode_cursor(*keys[stop - 1]),
            }
        return Response(
            {"type": list_type, container: rows[start:stop], "total_count": total, "pages": pages}
        )

    # -- HTTP: routes -----------------------------------------------------------------------

    @route("GET", "/v1/admins/activity_logs")
    def get_activity_logs(self, request: Request) -> Response:
        try:
            since = int(request.query["created_at_after"])
            rows, keys = self.view("activity_logs", "created_at")
            page, cursor = self.next_cursor_page(
                request, rows, keys, bisect_left(keys, (since, -1))
            )
        except (KeyError, ValueError) as exc:
            return self.error(400, f"created_at_after (Unix seconds) is required: {exc}")
        return Response(
            {
                "type": "activity_log.list",
                "pages": {"type": "pages", "next": cursor, "per_page": PAGE_SIZES["activity_logs"]},
                "activity_logs": page,
            }
        )

    @route("GET", "/v1/admins")
    def get_admins(self, request: Request) -> Response:
        return Response({"type": "admin.list", "admins": self.admins})

    @route("GET", "/v1/tags")
    def get_tags(self, request: Request) -> Response:
        return Response({"type": "list", "data": self.tags})

    @route("GET", "/v1/teams")
    def get_teams(self, request: Request) -> Response:
        return Response({"type": "team.list", "teams": self.teams})

    @route("GET", "/v1/segments")
    def get_segments(self, request: Request) -> Response:
        try:
            rows, keys = self.view("segments", "id")
            page, cursor = self.next_cursor_page(request, rows, keys, 0)
        except QueryError as exc:
            return self.error(400, str(exc))
        return Response(
            {"type": "segment.list", "segments": page, "pages": {"type": "pages", "next": cursor}}
        )

    @route("GET", "/v1/companies/scroll")
    def get_companies_scroll(self, request: Request) -> Response:
        param = request.query.get("scroll_param")
        if param is None:
            param = f"scroll-{self.seed}-{len(self._scrolls) + 1}"
            self._scrolls[param] = 0
        elif param not in self._scrolls:
            return self.error(400, f"scroll_param {param!r} is invalid or has expired")
        start = self._scrolls[param]
        size = PAGE_SIZES["companies"]
        rows = self.view("companies", "id")[0][start : start + size]
        self._scrolls[param] = start + len(rows)
        return Response(
            {
                "type": "list",
                "data": rows,
                "pages": None,
                "total_count": len(self.companies),
                "scroll_param": param,
            }
        )

    @route("GET", "/v1/data_attributes")
    def get_data_attributes(self, request: Request) -> Response:
        model = request.query.get("model")
        if model not in {"company", "contact"}:
            return self.error(400, f"model must be company or contact, got {model!r}")
        return Response({"type": "list", "data": getattr(self, f"{model}_attributes")})

    @route("POST", "/v1/contacts/search")
    def search_contacts(self, request: Request) -> Response:
        return self.search(request, "contacts", "data", "list")

    @route("POST", "/v1/conversations/search")
    def search_conversations(self, request: Request) -> Response:
        return self.search(request, "conversations", "conversations", "conversation.list")

    @route("POST", "/v1/tickets/search")
    def search_tickets(self, request: Request) -> Response:
        return self.search(request, "tickets", "tickets", "ticket.list")

    @route("GET", "/v1/conversations/{conversation_id}")
    def get_conversation(self, request: Request, conversation_id: str) -> Response:
        cid = int(conversation_id) if conversation_id.isdigit() else -1
        if cid not in self.parts or cid in self.gone["conversations"]:
            return self.error(404, f"Conversation {conversation_id} not found")
        conversation = self.conversation_by_id[cid]
        return Response({**conversation, "conversation_parts": self.parts[cid]})

    @route("GET", "/v1/companies/{company_id}/segments")
    def get_company_segments(self, request: Request, company_id: str) -> Response:
        cid = int(company_id) if company_id.isdigit() else -1
        if cid not in self.company_segment_ids or cid in self.gone["companies"]:
            return self.error(404, f"Company {company_id} not found")
        return Response({"type": "list", "data": self.company_segments(cid)})


API = CustomerMessagingAPI
