"""Sandbox of the CRM and helpdesk API (seed 003, CONTRACT.md section 003).

HTTP Basic on every request (user `email`, password `api_key`); records in `data`;
`created_time` / `updated_time` (and the other `*_time` fields) are integer Unix seconds.

Record cursor pagination on `contacts`, `companies`, `deals` and `campaigns`:
`page_size=<n>` (1..100, 25 when absent), then `cursor=<c>`. Rows come in id order; the
cursor is an opaque token naming the last id served. The server does not look ahead: the
last record of every *full* page carries `cursor`, so the page after a full last page is
empty (`{"data": []}`); a short page carries no cursor. The other seven resources are one
page each. There is no time filter and no sort parameter on any endpoint.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import typing as t

from taps.common.sandbox import Request, Response, SandboxAPI, route
from taps.common.sandbox.data import EPOCH, WORDS, email, opaque, rng, unopaque, words

DAY = 86_400
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
CURSOR_FIELD = "cursor"

#: Tables served with record cursor pagination, by path.
CURSOR_TABLES = {
    "/v1/contacts": "contacts",
    "/v1/companies": "companies",
    "/v1/deals": "deals",
    "/v1/campaigns": "campaigns",
}
#: Tables served as one page, by path.
SINGLE_PAGE_TABLES = {
    "/v1/notes": "notes",
    "/v1/tasks": "tasks",
    "/v1/events": "events",
    "/v1/milestone": "milestone",
    "/v1/documents": "documents",
    "/v1/ticket_filters": "ticket_filters",
    "/v1/tickets": "tickets",
}
TABLES = (*CURSOR_TABLES.values(), *SINGLE_PAGE_TABLES.values())

STAGES = ("new", "qualified", "proposal", "negotiation", "won", "lost")
PROBABILITIES = (10, 30, 50, 70, 100, 0)
TARGETS = ("contact", "company", "deal")
EVENT_KINDS = ("page_view", "email_opened", "form_submitted", "meeting_booked")


class CrmHelpdeskAPI(SandboxAPI):
    """Synthetic CRM + helpdesk API. `records` is the number of contacts.

    Volumes: contacts = records, companies = records // 3, deals = 3 * records // 2,
    campaigns 45, notes = records // 2, tasks = records // 3, events = records // 2,
    tickets = records // 2, documents = records // 5, milestone 4, ticket_filters 8.
    At the default (300) contacts (300) and companies (100) are exact multiples of the
    page size, so their last request returns an empty page; deals (450) and campaigns
    (45) end on a short page without a cursor.
    """

    title = "crm-helpdesk"
    credentials: t.ClassVar[dict[str, str]] = {
        "email": "sandbox@crm-helpdesk.example",
        "api_key": "sandbox-crm-helpdesk-key",
    }
    default_records = 300

    def __init__(self, records: int | None = None, seed: int = 0) -> None:
        super().__init__(records, seed)
        self.clock = EPOCH + 120 * DAY  # the API's "now"; changes happen after it
        self._ids: dict[str, list[int]] = {}
        n = self.records
        self.contacts: list[dict] = []
        self.companies: list[dict] = []
        self.deals: list[dict] = []
        self.campaigns: list[dict] = []
        self.notes: list[dict] = []
        self.tasks: list[dict] = []
        self.events: list[dict] = []
        self.documents: list[dict] = []
        self.tickets: list[dict] = []
        for table, count in (
            ("companies", n // 3),
            ("contacts", n),
            ("deals", 3 * n // 2),
            ("campaigns", 45),
            ("notes", n // 2),
            ("tasks", n // 3),
            ("events", n // 2),
            ("documents", n // 5),
            ("tickets", n // 2),
        ):
            r = rng(seed, table)
            make = getattr(self, f"_{table}_row")
            rows = getattr(self, table)
            for _ in range(count):
                rows.append(make(r, EPOCH + r.randrange(90 * DAY)))
        self.milestone = [
            {
                "id": 1 + i,
                "name": name,
                "is_default": i == 0,
                "milestones": [
                    {"id": 10 * (i + 1) + j, "name": stage, "position": j, "probability": p}
                    for j, (stage, p) in enumerate(zip(STAGES, PROBABILITIES, strict=True))
                ],
                "created_time": EPOCH + i * DAY,
                "updated_time": EPOCH + (i + 30) * DAY,
            }
            for i, name in enumerate(("Sales", "Renewals", "Partners", "Enterprise"))
        ]
        f = rng(seed, "ticket_filters")
        self.ticket_filters = [
            {
                "id": 1 + i,
                "name": name,
                "is_default": i < 3,
                "visibility": f.choice(("everyone", "group", "me")),
                "conditions": [
                    {"field": "status", "operator": "is_in", "value": statuses},
                    *(
                        [{"field": "priority", "operator": "is_in", "value": ["high", "urgent"]}]
                        if i % 2
                        else []
                    ),
                ],
                "created_time": EPOCH + i * DAY,
                "updated_time": EPOCH + (i + 5) * DAY,
            }
            for i, (name, statuses) in enumerate(
                [
                    ("All open tickets", ["open"]),
                    ("Pending", ["pending"]),
                    ("Resolved", ["resolved", "closed"]),
                    ("Urgent and open", ["open"]),
                    ("Waiting on customer", ["pending"]),
                    ("My escalations", ["open", "pending"]),
                    ("Closed this week", ["closed"]),
                    ("Unassigned", ["open"]),
                ]
            )
        ]

    # -- rows -----------------------------------------------------------------------------

    @staticmethod
    def _times(r: t.Any, created: int) -> dict[str, int]:
        return {"created_time": created, "updated_time": created + r.randrange(20 * DAY)}

    def _companies_row(self, r: t.Any, created: int) -> dict:
        name = f"{words(r, 2).title()} {r.choice(('Inc', 'Ltd', 'GmbH', 'LLC'))}"
        return {
            "id": 5_000 + len(self.companies),
            "name": name,
            "domain": f"{name.split(maxsplit=1)[0].lower()}{len(self.companies)}.example.com",
            "industry": r.choice(("software", "retail", "finance", "health", None)),
            "employees": r.choice((None, r.randrange(1, 5000))),
            "annual_revenue": r.choice((None, round(r.uniform(1e4, 1e8), 2))),
            "city": r.choice(("Berlin", "Austin", "Pune", "Lyon", None)),
            "country": r.choice(("DE", "US", "IN", "FR")),
            "owner_id": r.randrange(1, 13),
            **self._times(r, created),
        }

    def _contacts_row(self, r: t.Any, created: int) -> dict:
        first, last = r.choice(WORDS).title(), r.choice(WORDS).title()
        return {
            "id": 100_000 + len(self.contacts),
            "first_name": first,
            "last_name": last,
            "email": email(r),
            "mobile_number": r.choice((None, f"+1555{r.randrange(10**7):07d}")),
            "job_title": r.choice(("CTO", "Buyer", "Engineer", "Founder", None)),
            "company_id": (
                self.companies[r.randrange(len(self.companies))]["id"]
                if self.companies and r.random() < 0.8
                else None
            ),
            "owner_id": r.randrange(1, 13),
            "lead_score": r.randrange(0, 101),
            "lifecycle_stage": r.choice(("lead", "prospect", "customer", "churned")),
            "tags": r.sample(("vip", "newsletter", "trial", "partner", "event"), r.randrange(3)),
            **self._times(r, created),
        }

    def _deals_row(self, r: t.Any, created: int) -> dict:
        stage = r.choice(STAGES)
        return {
            "id": 300_000 + len(self.deals),
            "name": f"{words(r, 2).title()} deal",
            "amount": round(r.uniform(500, 250_000), 2),
            "currency": r.choice(("USD", "EUR", "INR")),
            "stage": stage,
            "milestone_id": 1 + r.randrange(4),
            "probability": r.randrange(0, 101),
            "contact_id": self.contacts[r.randrange(len(self.contacts))]["id"]
            if self.contacts
            else None,
            "company_id": r.choice((None, 5_000 + r.randrange(max(1, len(self.companies))))),
            "owner_id": r.randrange(1, 13),
            "expected_close": r.choice((None, f"2024-{r.randrange(4, 13):02d}-15")),
            "closed_time": created + r.randrange(30 * DAY) if stage in ("won", "lost") else None,
            **self._times(r, created),
        }

    def _campaigns_row(self, r: t.Any, created: int) -> dict:
        sent = r.randrange(0, 20_000)
        return {
            "id": 900 + len(self.campaigns),
            "name": f"{words(r, 2).title()} campaign",
            "status": r.choice(("draft", "scheduled", "sent")),
            "channel": r.choice(("email", "sms", "whatsapp")),
            "sent_count": sent,
            "open_count": sent // r.randrange(2, 6),
            "click_count": sent // r.randrange(6, 40),
            "started_time": r.choice((None, created + DAY)),
            **self._times(r, created),
        }

    def _target(self, r: t.Any) -> dict:
        kind = r.choice(TARGETS)
        base = {"contact": 100_000, "company": 5_000, "deal": 300_000}[kind]
        return {"target_type": kind, "target_id": base + r.randrange(max(1, self.records // 3))}

    def _notes_row(self, r: t.Any, created: int) -> dict:
        return {
            "id": 20_000 + len(self.notes),
            "description": f"Call notes: {words(r, 6)}",
            **self._target(r),
            "creator_id": r.randrange(1, 13),
            **self._times(r, created),
        }

    def _tasks_row(self, r: t.Any, created: int) -> dict:
        return {
            "id": 40_000 + len(self.tasks),
            "subject": f"Follow up: {words(r, 3)}",
            "description": r.choice((None, words(r, 8))),
            "status": r.choice(("open", "in_progress", "completed")),
            "priority": r.choice(("low", "medium", "high")),
            "due_time": created + r.randrange(1, 14) * DAY,
            "owner_id": r.randrange(1, 13),
            **self._target(r),
            **self._times(r, created),
        }

    def _events_row(self, r: t.Any, created: int) -> dict:
        kind = r.choice(EVENT_KINDS)
        details: dict[str, t.Any] = {
            "page_view": {"url": f"https://www.example.com/{r.choice(WORDS)}", "seconds": 12},
            "email_opened": {"campaign_id": 900 + r.randrange(45), "client": "webmail"},
            "form_submitted": {"form": words(r, 2), "fields": r.randrange(2, 9), "spam": False},
            "meeting_booked": {"duration_minutes": 30, "with_user_id": r.randrange(1, 13)},
        }[kind]
        return {
            "id": 60_000 + len(self.events),
            "name": kind,
            "contact_id": 100_000 + r.randrange(max(1, self.records)),
            "occurred_time": created,
            "properties": details,
            "created_time": created,
            "updated_time": created,
        }

    def _documents_row(self, r: t.Any, created: int) -> dict:
        ext = r.choice(("pdf", "docx", "png"))
        n = len(self.documents)
        return {
            "id": 70_000 + n,
            "name": f"{words(r, 2).replace(' ', '-')}-{n}.{ext}",
            "content_type": {
                "pdf": "application/pdf",
                "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "png": "image/png",
            }[ext],
            "size_bytes": r.randrange(1_000, 5_000_000),
            "url": f"https://files.example.com/documents/{70_000 + n}",
            **self._target(r),
            "uploaded_by": r.randrange(1, 13),
            "uploaded_time": created,
        }

    def _tickets_row(self, r: t.Any, created: int) -> dict:
        status = r.choice(("open", "pending", "resolved", "closed"))
        return {
            "id": 80_000 + len(self.tickets),
            "subject": f"{r.choice(('Cannot', 'How to', 'Error when'))} {words(r, 3)}",
            "description": words(r, 12),
            "status": status,
            "priority": r.choice(("low", "medium", "high", "urgent")),
            "source": r.choice(("email", "portal", "phone", "chat")),
            "requester_id": 100_000 + r.randrange(max(1, self.records)),
            "responder_id": r.choice((None, r.randrange(1, 13))),
            "group_id": r.choice((None, 1, 2, 3)),
            "tags": r.sample(("billing", "bug", "login", "refund"), r.randrange(3)),
            "due_by": created + 3 * DAY,
            "resolved_time": created + r.randrange(DAY, 5 * DAY)
            if status in ("resolved", "closed")
            else None,
            **self._times(r, created),
        }

    # -- data changes (used by tests) -------------------------------------------------------

    def new_activity(self, **counts: int) -> None:
        """Create `counts[table]` new rows per table after `clock` (ids keep growing), then
        move the clock past them: `new_activity(contacts=5, tickets=2)`."""
        with self.lock:
            for table, count in counts.items():
                r = rng(self.seed, f"{table}{self.clock}")
                rows = getattr(self, table)
                make = getattr(self, f"_{table}_row")
                for _ in range(count):
                    self.clock += 13
                    rows.append(make(r, self.clock))
            self.clock += 1
            self._ids.clear()

    def touch(self, table: str, ids: t.Iterable[int]) -> None:
        """Set `updated_time` of the given rows to a moment after `clock`."""
        wanted = set(ids)
        with self.lock:
            self.clock += 60
            for row in getattr(self, table):
                if row["id"] in wanted:
                    row["updated_time"] = self.clock

    def delete(self, table: str, ids: t.Iterable[int]) -> None:
        """Delete rows (e.g. between two pages of a cursor walk)."""
        gone = set(ids)
        with self.lock:
            setattr(self, table, [row for row in getattr(self, table) if row["id"] not in gone])
            self._ids.clear()

    # -- views ------------------------------------------------------------------------------

    def ids(self, table: str) -> list[int]:
        """The ids of `table`, ascending (cached until the data changes)."""
        if table not in self._ids:
            self._ids[table] = [row["id"] for row in getattr(self, table)]
        return self._ids[table]

    def expected_counts(self) -> dict[str, int]:
        return {table: len(getattr(self, table)) for table in TABLES}

    @staticmethod
    def encode_cursor(table: str, last_id: int) -> str:
        return opaque(f"{table}:{last_id}")

    @staticmethod
    def decode_cursor(table: str, cursor: str) -> int | None:
        """The last id a cursor names, or None if it is not one of `table`'s cursors."""
        raw = unopaque(cursor)
        if raw is None:
            return None
        name, _, last = raw.partition(":")
        return int(last) if name == table and last.isdigit() else None

    # -- HTTP -------------------------------------------------------------------------------

    def authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            pair = base64.b64decode(token, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False
        expected = f"{self.credentials['email']}:{self.credentials['api_key']}"
        return scheme.lower() == "basic" and pair == expected

    def error(self, status: int, message: str) -> Response:
        headers = {"WWW-Authenticate": 'Basic realm="api"'} if status == 401 else {}
        code = {400: "bad_request", 401: "unauthorized", 404: "not_found"}.get(status, "error")
        return Response({"error": {"code": code, "message": message}}, status, headers)

    def cursor_page(self, request: Request, table: str) -> Response:
        """One page of a record-cursor endpoint, in id order, never looking ahead."""
        raw_size = request.query.get("page_size", str(DEFAULT_PAGE_SIZE))
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE_SIZE:
            return self.error(400, f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}")
        size = int(raw_size)
        start = 0
        if "cursor" in request.query:
            last_id = self.decode_cursor(table, request.query["cursor"])
            if last_id is None:
                return self.error(400, "invalid cursor")
            start = bisect.bisect_right(self.ids(table), last_id)
        rows = [dict(row) for row in getattr(self, table)[start : start + size]]
        if len(rows) == size:
            rows[-1][CURSOR_FIELD] = self.encode_cursor(table, rows[-1]["id"])
        return Response({"data": rows})

    @route("GET", "/v1/contacts")
    @route("GET", "/v1/companies")
    @route("GET", "/v1/deals")
    @route("GET", "/v1/campaigns")
    def get_cursor_table(self, request: Request) -> Response:
        return self.cursor_page(request, CURSOR_TABLES[request.path])

    @route("GET", "/v1/notes")
    @route("GET", "/v1/tasks")
    @route("GET", "/v1/events")
    @route("GET", "/v1/milestone")
    @route("GET", "/v1/documents")
    @route("GET", "/v1/ticket_filters")
    @route("GET", "/v1/tickets")
    def get_single_page_table(self, request: Request) -> Response:
        return Response({"data": getattr(self, SINGLE_PAGE_TABLES[request.path])})


API = CrmHelpdeskAPI
