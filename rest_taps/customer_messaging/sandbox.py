"""Sandbox of the customer-messaging API: its wire protocol, and records of the real shapes.

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

A conversation carries its parts as the real API nests them, in a list object:
`"conversation_parts": {"type": "conversation_part.list", "conversation_parts": [...],
"total_count": n}`; with `flat_parts` set, as the flat list the contract describes.

Records have the real API's shapes: string ids (24-hex object ids for contacts, companies
and segments, numeric strings for admins, teams, tags, conversations, parts and tickets,
UUIDs for activity logs) next to integer ids where the API uses integers (`owner_id`,
`admin_assignee_id` of conversations, `team_ids`, `admin_ids`, custom data attribute ids);
nested lists and objects (`tags`, `companies`, `location`, `statistics`, `source`,
`ticket_type`, ...); keys absent where the API omits them (a company's `size`, `website`,
`industry`, an admin's `job_title`, built-in data attributes' `id`); `"0"` for an
unassigned ticket; attachment sizes sometimes as numeric strings; custom attributes whose
names and types follow the data attributes served. A few fields of newer API versions
are served though the tap does not declare them: `assignment_limit` and
`distribution_method` of teams, `away_status_reason_id` of admins, `app_package_code`,
`email_message_metadata` and the author's `from_ai_agent`/`is_ai_answer` of conversation
parts, `app_package_code` of ticket parts.

Every stream's records live in `tables` (children: parent id → list) and are served from
there, so `replace` serves any records verbatim and drift mode alters them in place.

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
import zlib
from bisect import bisect_left, bisect_right

from rest_taps.common.sandbox import Request, Response, SandboxAPI, collector_paused, route
from rest_taps.common.sandbox.data import EPOCH, WORDS, opaque, pick, rng, uid, unopaque, words

if t.TYPE_CHECKING:
    import random

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

#: One-page list endpoints: path → (stream, list type, records container).
LISTS = {
    "/v1/admins": ("admins", "admin.list", "admins"),
    "/v1/tags": ("tags", "list", "data"),
    "/v1/teams": ("teams", "team.list", "teams"),
}
#: Search endpoints: path → (stream, list type, records container).
SEARCHES = {
    "/v1/contacts/search": ("contacts", "list", "data"),
    "/v1/conversations/search": ("conversations", "conversation.list", "conversations"),
    "/v1/tickets/search": ("tickets", "ticket.list", "tickets"),
}
#: Child stream → (parent stream, the parent key its records get from the tap).
CHILDREN = {
    "conversation_parts": ("conversations", "conversation_id"),
    "company_segments": ("companies", "company_id"),
}

WORKSPACE = "sbx4q7w2"
# Nested values that do not depend on the record are shared (read-only) by the records
# that hold them: 100k records would otherwise need a copy each.
NAMES = tuple(f"{a.title()} {b.title()}" for a in WORDS for b in WORDS)
LOCATIONS = tuple(
    dict(
        zip(
            ("type", "country", "region", "city", "country_code", "continent_code"),
            place,
            strict=True,
        )
    )
    for place in (
        ("location", "France", "Ile-de-France", "Paris", "FRA", "EU"),
        ("location", "Germany", "Berlin", "Berlin", "DEU", "EU"),
        ("location", "Ireland", "Dublin", "Dublin", "IRL", "EU"),
        ("location", "United States", "Texas", "Austin", "USA", "NA"),
        ("location", "United States", "California", "San Francisco", "USA", "NA"),
        ("location", "Brazil", "Sao Paulo", "Sao Paulo", "BRA", "SA"),
        ("location", "Japan", "Tokyo", "Tokyo", "JPN", "AS"),
        ("location", None, None, None, None, None),  # location unknown
    )
)
BROWSERS = tuple(
    {"browser": name, "browser_version": version, "browser_language": language, "os": os}
    for name, version in (("chrome", "120.0.6099.109"), ("firefox", "121.0"), ("safari", "17.2"))
    for os in ("OS X 14.2", "Windows 10", "Linux")
    for language in ("en-US", "fr-FR")
)
MOBILE_APPS = {
    "ios": {
        "ios_app_name": "Sandbox",
        "ios_app_version": "5.2.1",
        "ios_device": "iPhone 15",
        "ios_os_version": "17.2",
        "ios_sdk_version": "16.1.0",
    },
    "android": {
        "android_app_name": "Sandbox",
        "android_app_version": "5.2.1",
        "android_device": "Pixel 8",
        "android_os_version": "14",
        "android_sdk_version": "15.4.2",
    },
}
#: What a contact holds before anything is known about it.
CONTACT_DEFAULTS = {
    "type": "contact",
    "workspace_id": WORKSPACE,
    "email_domain": "example.com",
    "last_email_clicked_at": None,
    "browser": None,
    "browser_version": None,
    "browser_language": None,
    "os": None,
    **dict.fromkeys(key for app in MOBILE_APPS.values() for key in app),
    "android_last_seen_at": None,
    "ios_last_seen_at": None,
    "avatar": None,
    "unsubscribed_from_sms": False,
    "referrer": None,
    **dict.fromkeys(("utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term")),
}
NO_SOCIAL_PROFILES = {"type": "list", "data": []}
INDUSTRIES = ("Software", "Retail", "Finance", "Manufacturing", "Healthcare")
PLANS = (
    {},
    {"type": "plan", "id": "314402", "name": "Pro"},
    {"type": "plan", "id": "314403", "name": "Free"},
)
BOT = {
    "type": "bot",
    "id": "738204093",
    "name": "Answer Bot",
    "email": "answer-bot@bots.example.com",
}
SLAS = tuple(
    {"type": "conversation_sla_summary", "sla_name": "First response", "sla_status": status}
    for status in ("hit", "missed", "active")
)
AI_AGENTS = tuple(
    {
        "source_type": "workflow",
        "source_title": "Answer common questions",
        "last_answer_type": "ai_answer",
        "resolution_state": resolution,
        "rating": rating,
        "rating_remark": None,
        "content_sources": {
            "type": "content_source.list",
            "total_count": 1,
            "content_sources": [
                {
                    "content_type": "article",
                    "url": "/help/articles/42",
                    "title": "Reset your password",
                    "locale": "en",
                }
            ],
        },
    }
    for resolution, rating in (("assumed_resolution", None), ("routed_to_team", 4))
)
NO_LINKS = {"type": "list", "data": [], "total_count": 0, "has_more": False}
PART_TYPES = ("comment", "comment", "note", "assignment", "close", "open", "snoozed")
TICKET_STATES = {
    "submitted": "Submitted",
    "in_progress": "In progress",
    "waiting_on_customer": "Waiting on customer",
    "resolved": "Resolved",
}

#: Built-in data attributes (name, label, data type); the rest are custom.
BUILT_IN_ATTRIBUTES = {
    "contact": (
        ("name", "Name", "string"),
        ("email", "Email", "string"),
        ("phone", "Phone", "string"),
        ("role", "Role", "string"),
        ("owner_id", "Owner", "integer"),
        ("external_id", "User ID", "string"),
        ("signed_up_at", "Signed up", "date"),
        ("last_seen_at", "Last seen", "date"),
    ),
    "company": (
        ("name", "Company name", "string"),
        ("company_id", "Company ID", "string"),
        ("created_at", "Created at", "date"),
        ("remote_created_at", "Company created at", "date"),
        ("last_request_at", "Company last seen", "date"),
        ("user_count", "People", "integer"),
        ("session_count", "Company web sessions", "integer"),
        ("monthly_spend", "Monthly spend", "float"),
        ("size", "Company size", "integer"),
        ("industry", "Company industry", "string"),
    ),
}
#: Data type → a custom attribute's value for `x` in [0.25, 1) on a record made at `ts`.
VALUES: dict[str, t.Callable[[float, int], t.Any]] = {
    "string": lambda x, ts: WORDS[int(x * len(WORDS))],
    "integer": lambda x, ts: int(x * 500),
    "float": lambda x, ts: round(x * 100, 2),
    "boolean": lambda x, ts: x < 0.6,
    "date": lambda x, ts: ts + int(x * 365) * DAY,  # dates are Unix seconds too
}
CUSTOM_ATTRIBUTES = {
    "contact": (
        ("plan_tier", "string", ("starter", "growth", "scale")),
        ("seats", "integer", None),
        ("health_score", "float", None),
        ("beta_user", "boolean", None),
        ("renewal_date", "date", None),
        ("favourite colour", "string", None),  # names may hold spaces
    ),
    "company": (
        ("account_tier", "string", ("bronze", "silver", "gold")),
        ("employees_paid", "integer", None),
        ("arr", "float", None),
        ("churn_risk", "boolean", None),
        ("contract_end", "date", None),
    ),
}


class QueryError(ValueError):
    """A search query the API does not accept."""


def encode_cursor(*parts: t.Any) -> str:
    """An opaque cursor for `parts`."""
    return opaque(json.dumps(parts))


def decode_cursor(token: str, size: int) -> list[t.Any]:
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


def number(value: t.Any) -> int | float:
    """A sort/filter value: the number itself, 0 for anything else (a record that lacks
    the field, or sends it as another type, is still served)."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def sort_key(row: dict, field: str | None) -> tuple[t.Any, int, t.Any]:
    """(field value, id) as a total order over any records: integer ids before string
    ids, any other id by its text."""
    ident = row.get("id")
    rank, value = (
        (0, ident) if is_int(ident) else (1, ident if isinstance(ident, str) else str(ident))
    )
    return number(row.get(field)) if field else 0, rank, value


def cursor_after(row: dict, field: str | None) -> str:
    """The cursor that continues after `row` in a view sorted on `field`."""
    return encode_cursor(*sort_key(row, field))


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


def ref(kind: str, ident: str) -> dict:
    """A `{type, id, url}` reference to another object."""
    return {"type": kind, "id": ident, "url": f"/{kind}s/{ident}"}


def addressable(refs: list[dict], url: str) -> dict:
    """The API's `{type: list, data: [{type, id, url}], url, total_count, has_more}`."""
    return {"type": "list", "data": refs, "url": url, "total_count": len(refs), "has_more": False}


def links(kind: str, ident: str, category: str | None) -> dict:
    """The API's `linked_objects` with one linked ticket or conversation."""
    data = [{"type": kind, "id": ident, "category": category}]
    return {"type": "list", "data": data, "total_count": 1, "has_more": False}


class CustomerMessagingAPI(SandboxAPI):
    """Synthetic customer-messaging API. `records` is the number of contacts (and
    activity logs); there are a quarter as many companies, half as many conversations
    and a third as many tickets."""

    title = "customer-messaging"
    credentials: t.ClassVar[dict[str, str]] = {"access_token": "sandbox-customer-messaging-token"}
    default_records = 300
    stable_fields: t.ClassVar[dict[str, tuple[str, ...]]] = {
        "activity_logs": ("id", "created_at"),
        "admins": ("id",),
        "tags": ("id",),
        "teams": ("id",),
        "segments": ("id",),
        "companies": ("id",),
        "company_attributes": ("name",),
        "contact_attributes": ("name",),
        "contacts": ("id", "updated_at"),
        "conversations": ("id", "updated_at"),
        "conversation_parts": ("id", "conversation_id"),
        "company_segments": ("id", "company_id"),
        "tickets": ("id", "updated_at"),
    }

    def __init__(
        self,
        records: int | None = None,
        seed: int = 0,
        rate_limit: tuple[int, float] | None = None,
        *,
        drift: bool = False,
    ) -> None:
        super().__init__(records, seed, drift=drift)
        self.clock = EPOCH + 100 * DAY  # the API's "now"; new activity happens after it
        self.rate_limit = rate_limit or DEFAULT_RATE_LIMIT
        #: (arrival, remaining, reset, status) per request, kept when a quota is given.
        self.rate_log: list[tuple[float, int, int, int]] = []
        self._keep_rate_log = rate_limit is not None
        self._window_start = -1.0
        self._used = 0
        self._views: dict[tuple[str, str | None], tuple[list[dict], list[tuple]]] = {}
        self._index: dict[str, dict[str, t.Any]] = {}
        self._scrolls: dict[str, int] = {}
        #: Parents deleted after the list was read (ids as in the path): their detail
        #: and children answer 404 while list pages still show them.
        self.gone: dict[str, set[str]] = {"companies": set(), "conversations": set()}
        #: Serve a conversation's parts as a flat list instead of the real list object.
        self.flat_parts = False
        self._salt = f"{zlib.crc32(f'object-ids:{seed}'.encode()):010x}"  # the middle of ids
        pool = rng(seed, "sentences")
        self._sentences = [words(pool, 3 + i % 6) for i in range(512)]
        self._part_ids = 0
        self._build()

    # -- synthetic records ----------------------------------------------------------------

    def _build(self) -> None:
        """Fill `tables` (without cyclic garbage collection passes meanwhile)."""
        with collector_paused():
            self._build_tables(self.records, self.tables)

    def _build_tables(self, n: int, tables: dict[str, t.Any]) -> None:
        admins = tables["admins"] = [self._admin(i) for i in range(8)]
        tables["teams"] = [self._team(i) for i in range(4)]
        # What records embed of other objects, built once and shared (read-only).
        admin_refs = [{"type": "admin", "id": a["id"]} for a in admins]
        self._refs: dict[str, t.Any] = {
            "admins": admin_refs,
            "authors": [{k: a[k] for k in ("type", "id", "name", "email")} for a in admins],
            "bots": [{**BOT, "from_ai_agent": True, "is_ai_answer": yes} for yes in (True, False)],
            "teammates": [{"type": "admin.list", "admins": [a]} for a in admin_refs],
            "performed_by": [
                {"type": "admin", "id": a["id"], "email": a["email"], "ip": f"10.0.{i}.{7 * i + 3}"}
                for i, a in enumerate(admins)
            ],
            "subscription": ref("subscription", "3"),
        }
        r = rng(self.seed, "tags")
        tables["tags"] = [
            {"type": "tag", "id": str(8_314_500 + 11 * i), "name": words(r, 2).title()}
            for i in range(15)
        ]
        tables["segments"] = [self._segment(i) for i in range(12)]
        for model in ("company", "contact"):
            tables[f"{model}_attributes"] = self._attributes(model)
        r = rng(self.seed, "companies")
        tables["companies"] = [self._company(i, r) for i in range(max(1, n // 4))]
        r = rng(self.seed, "company_segments")
        segments = tables["segments"]
        embedded = [dict(s) for s in segments]
        tables["company_segments"] = {}
        for i, company in enumerate(tables["companies"]):
            chosen = sorted(r.sample(range(12), 1 if i == 0 else r.randrange(4)))
            tables["company_segments"][company["id"]] = [dict(segments[s]) for s in chosen]
            company["segments"]["segments"] = [embedded[s] for s in chosen]
        self._refs["tags"] = [ref("tag", tag["id"]) for tag in tables["tags"]]
        self._refs["companies"] = [ref("company", c["id"]) for c in tables["companies"]]
        r = rng(self.seed, "contacts")
        tables["contacts"] = [self._contact(i, r) for i in range(n)]
        tables["conversations"], tables["conversation_parts"] = [], {}
        r = rng(self.seed, "conversations")
        for i in range(max(1, n // 2)):
            conversation = self._conversation(i, r)
            tables["conversations"].append(conversation)
            tables["conversation_parts"][conversation["id"]] = []
            for _ in range(1 + int(r.random() * 4)):
                self._add_part(conversation, conversation["created_at"] + int(r.random() * DAY), r)
        r = rng(self.seed, "tickets")
        self._ticket_types = self._make_ticket_types()
        tables["tickets"] = [self._ticket(i, r) for i in range(max(1, n // 3))]
        r = rng(self.seed, "activity_logs")
        tables["activity_logs"] = []
        for _ in range(n):
            self._add_activity(EPOCH + int(r.random() * SPAN), r)

    def _object_id(self, ts: int, counter: int) -> str:
        """A 24-hex-digit id like the API's: creation time, a fixed middle, a counter."""
        return f"{ts:08x}{self._salt}{counter & 0xFFFFFF:06x}"

    def _admin_id(self, i: int) -> str:
        return str(738_204_100 + 7 * i)

    def _admin(self, i: int) -> dict:
        r = rng(self.seed, f"admin{i}")
        name = pick(r, NAMES)
        team = 6_102_300 + i % 4
        admin = {
            "type": "admin",
            "id": self._admin_id(i),
            "name": name,
            "email": f"{name.lower().replace(' ', '.')}@support.example.com",
            "job_title": pick(r, ("Support engineer", "Account manager", "Team lead")),
            "away_mode_enabled": r.random() < 0.2,
            "away_mode_reassign": r.random() < 0.5,
            "has_inbox_seat": r.random() < 0.8,
            "team_ids": [team],
            "team_priority_level": {"primary_team_ids": [team], "secondary_team_ids": None}
            if i % 2
            else {},
            "avatar": {"image_url": f"https://static.example.com/avatars/{i}.png"}
            if i % 3
            else None,
        }
        if i % 4 == 3:
            del admin["job_title"]  # absent, not null, when never set
        if admin["away_mode_enabled"]:
            admin["away_status_reason_id"] = 1 + i % 3  # newer API versions only
        return admin

    def _team(self, i: int) -> dict:
        admins = [int(self._admin_id(a)) for a in range(8) if a % 4 == i]
        return {
            "type": "team",
            "id": str(6_102_300 + i),
            "name": ("Support", "Sales", "Success", "Billing")[i],
            "admin_ids": admins,
            "admin_priority_level": {
                "primary_admin_ids": admins[:1],
                "secondary_admin_ids": admins[1:],
            },
            "assignment_limit": None if i % 2 else 10 + i,  # newer API versions only
            "distribution_method": ("round_robin", "balanced")[i % 2],  # likewise
        }

    def _segment(self, i: int) -> dict:
        r = rng(self.seed, f"segment{i}")
        created = EPOCH + int(r.random() * 30 * DAY)
        return {
            "type": "segment",
            "id": self._object_id(created, i),
            "name": f"{words(r, 2).title()} {i}",
            "created_at": created,
            "updated_at": created + int(r.random() * 30 * DAY),
            "person_type": pick(r, ("user", "contact")),
        }

    def _attributes(self, model: str) -> list[dict]:
        rows: list[dict] = [
            {
                "type": "data_attribute",
                "name": name,
                "full_name": name,
                "label": label,
                "description": f"The {label.lower()} of the {model}",
                "data_type": data_type,
                "api_writable": name not in {"created_at", "user_count", "session_count"},
                "ui_writable": False,
                "messenger_writable": True,
                "custom": False,
                "archived": False,
                "model": model,
            }
            for name, label, data_type in BUILT_IN_ATTRIBUTES[model]
        ]
        r = rng(self.seed, f"{model}_attributes")
        for i, (name, data_type, options) in enumerate(CUSTOM_ATTRIBUTES[model]):
            created = EPOCH + int(r.random() * SPAN)
            row = {
                "id": 30 + i if model == "company" else 60 + i,
                "type": "data_attribute",
                "name": name,
                "full_name": f"custom_attributes.{name}",
                "label": name.replace("_", " ").capitalize(),
                "description": words(r, 5),
                "data_type": data_type,
                "api_writable": True,
                "ui_writable": True,
                "messenger_writable": False,
                "custom": True,
                "archived": i == 4,
                "admin_id": self._admin_id(i % 8),
                "created_at": created,
                "updated_at": created + int(r.random() * DAY),
                "model": model,
            }
            if options:
                row["options"] = list(options)
            rows.append(row)
        return rows

    def _custom_values(self, model: str, r: random.Random, ts: int) -> dict:
        """Values of the model's custom data attributes, each unset on a quarter of the
        records (`x` in [0.25, 1) picks the value)."""
        values: dict[str, t.Any] = {}
        for name, data_type, options in CUSTOM_ATTRIBUTES[model]:
            x = r.random()
            if x >= 0.25:
                values[name] = (
                    options[int(x * 12) % len(options)] if options else VALUES[data_type](x, ts)
                )
        return values

    def _company(self, i: int, r: random.Random) -> dict:
        created = EPOCH + int(r.random() * SPAN)
        cid = self._object_id(created, i)
        tags = self.tables["tags"]
        company = {
            "type": "company",
            "company_id": f"acct-{i:05d}" if i % 3 else str(9000 + i),  # the account's own id
            "id": cid,
            "app_id": WORKSPACE,
            "name": f"{pick(r, WORDS).title()} {pick(r, WORDS).title()} Ltd",
            "created_at": created,
            "updated_at": created + int(r.random() * 10 * DAY),
            "monthly_spend": int(r.random() * 5000),  # whole units: the API truncates
            "session_count": int(r.random() * 1000),
            "user_count": 1 + int(r.random() * 200),
            "tags": {
                "type": "tag.list",
                "tags": [{k: tags[j][k] for k in ("type", "id", "name")} for j in range(i % 3)],
            },
            "segments": {"type": "segment.list", "segments": []},
            "plan": dict(PLANS[i % 3]),  # `{}` without a plan
            "custom_attributes": self._custom_values("company", r, created),
        }
        if i % 4:  # set by the account, absent otherwise
            company["remote_created_at"] = created - int(r.random() * 900) * DAY
            company["size"] = pick(r, (5, 49, 150, 1200))
            company["website"] = f"https://www.{company['name'].split()[0].lower()}{i}.example"
            company["industry"] = pick(r, INDUSTRIES)
        if i % 5:
            company["last_request_at"] = created + int(r.random() * 20 * DAY)
        return company

    def _contact(self, i: int, r: random.Random) -> dict:
        x = r.random
        created = EPOCH + int(x() * SPAN)
        cid = self._object_id(created, i)
        user = x() < 0.6
        name = pick(r, NAMES) if x() < 0.9 else None
        phone = f"+1555{int(x() * 10**7):07d}" if x() < 0.3 else None
        refs = self._refs
        contact = {
            **CONTACT_DEFAULTS,
            "id": cid,
            "external_id": f"{20_000_000 + i}" if user else None,
            "role": "user" if user else "lead",
            "email": f"{(name or 'visitor').lower().replace(' ', '.')}{i}@example.com",
            "phone": phone,
            "formatted_phone": phone,
            "name": name,
            "owner_id": int(self._admin_id(int(x() * 8))) if x() < 0.4 else None,
            "has_hard_bounced": x() < 0.05,
            "marked_email_as_spam": x() < 0.02,
            "unsubscribed_from_emails": x() < 0.1,
            "created_at": created,
            "updated_at": created + int(x() * 5 * DAY),
            "signed_up_at": created if user else None,
            "last_seen_at": None,
            "last_replied_at": None,
            "last_contacted_at": created + DAY if x() < 0.3 else None,
            "last_email_opened_at": created + 2 * DAY if x() < 0.2 else None,
            "language_override": pick(r, (None, None, "en", "fr")),
            "custom_attributes": self._custom_values("contact", r, created),
            "tags": addressable(refs["tags"][: int(x() * 3)], f"/contacts/{cid}/tags"),
            "notes": addressable(
                [ref("note", str(30_000 + 2 * i))] if x() < 0.3 else [], f"/contacts/{cid}/notes"
            ),
            "companies": addressable([pick(r, refs["companies"])], f"/contacts/{cid}/companies"),
            "location": pick(r, LOCATIONS),
            "social_profiles": NO_SOCIAL_PROFILES,
            "sms_consent": phone is not None and x() < 0.5,
            "opted_in_subscription_types": addressable([], f"/contacts/{cid}/subscriptions"),
            "opted_out_subscription_types": addressable(
                [refs["subscription"]] if x() < 0.2 else [], f"/contacts/{cid}/subscriptions"
            ),
        }
        if x() < 0.7:  # seen on the web (and maybe in the mobile app)
            seen = contact["last_seen_at"] = created + int(x() * 5 * DAY)
            contact.update(pick(r, BROWSERS))
            if x() < 0.4:
                contact["last_replied_at"] = seen
            if x() < 0.3:
                contact["referrer"] = "https://www.search.example/"
            mobile = x()
            if mobile < 0.15:
                platform = "ios" if mobile < 0.08 else "android"
                contact.update(MOBILE_APPS[platform])
                contact[f"{platform}_last_seen_at"] = seen
        if x() < 0.1:
            contact["avatar"] = {
                "type": "avatar",
                "image_url": f"https://static.example.com/c/{cid}.png",
            }
            contact["social_profiles"] = {
                "type": "list",
                "data": [
                    {
                        "type": "social_profile",
                        "name": "Twitter",
                        "url": f"https://twitter.example/{cid[-6:]}",
                    }
                ],
            }
        if x() < 0.2:
            contact["utm_source"], contact["utm_medium"] = "newsletter", "email"
            contact["utm_campaign"] = f"spring-{created % 7}"
        return contact

    def _contact_ref(self, r: random.Random) -> dict:
        """A reference to a random contact, as conversations and tickets embed it."""
        contacts = self.tables["contacts"]
        contact = contacts[int(r.random() * len(contacts))]
        return {"type": "contact", "id": contact["id"], "external_id": contact["external_id"]}

    def _text(self, r: random.Random) -> str:
        """A sentence from a fixed pool (a fresh one per record is too slow at 100k)."""
        return pick(r, self._sentences)

    def _attachment(self, r: random.Random, ts: int) -> dict:
        width, height = pick(r, ((640, 480), (1280, 720), (200, 300)))
        as_text = r.random() < 0.3  # some uploads report their size as numeric strings
        return {
            "type": "upload",
            "name": f"screenshot-{ts}.png",
            "url": f"https://files.example.com/{ts}/screenshot.png",
            "content_type": "image/png",
            "filesize": 20_000 + int(r.random() * 500_000),
            "width": str(width) if as_text else width,
            "height": str(height) if as_text else height,
        }

    def _conversation(self, i: int, r: random.Random) -> dict:
        x = r.random
        created = EPOCH + int(x() * SPAN)
        state = pick(r, ("open", "closed", "snoozed"))
        admin = int(x() * 8)
        assigned = x() < 0.7
        inbound = x() < 0.6
        contact = self._contact_ref(r)
        author = (
            {"type": pick(r, ("user", "lead")), "id": contact["id"], "name": None, "email": ""}
            if inbound
            else self._refs["authors"][admin]
        )
        tags = self.tables["tags"]
        rated = state == "closed" and x() < 0.4
        replied = created + int(x() * 3600) if assigned else None
        conversation = {
            "type": "conversation",
            "id": str(100_000_000 + i),
            "title": None if x() < 0.7 else self._text(r).capitalize(),
            "created_at": created,
            "updated_at": created,
            "waiting_since": created if state == "open" and inbound else None,
            "snoozed_until": created + DAY if state == "snoozed" else None,
            "source": {
                "type": "conversation" if x() < 0.7 else "email",
                "id": str(512_300_000 + i),
                "delivered_as": "customer_initiated" if inbound else "admin_initiated",
                "subject": "" if x() < 0.6 else self._text(r),
                "body": f"<p>{self._text(r)}</p>",
                "author": author,
                "attachments": [self._attachment(r, created)] if x() < 0.15 else [],
                "url": "https://app.example.com/pricing" if inbound and x() < 0.3 else None,
                "redacted": False,
            },
            "contacts": {"type": "contact.list", "contacts": [contact]},
            "first_contact_reply": {"created_at": created, "type": "conversation", "url": None}
            if inbound
            else None,
            "admin_assignee_id": int(self._admin_id(admin)) if assigned else None,
            "team_assignee_id": 6_102_300 + admin % 4 if x() < 0.5 else None,
            "open": state != "closed",
            "state": state,
            "read": x() < 0.7,
            "tags": {
                "type": "tag.list",
                "tags": [
                    {
                        "type": "tag",
                        "id": tags[j]["id"],
                        "name": tags[j]["name"],
                        "applied_at": created + 60,
                        "applied_by": self._refs["admins"][admin],
                    }
                    for j in range(int(x() * 2.5))
                ],
            },
            "priority": "priority" if x() < 0.15 else "not_priority",
            "sla_applied": pick(r, SLAS) if x() < 0.25 else None,
            "statistics": {
                "type": "conversation_statistics",
                "time_to_assignment": 0 if assigned else None,
                "time_to_admin_reply": replied - created if replied else None,
                "time_to_first_close": DAY if state == "closed" else None,
                "time_to_last_close": DAY if state == "closed" else None,
                "median_time_to_reply": replied - created if replied else None,
                "first_contact_reply_at": created if inbound else None,
                "first_assignment_at": created if assigned else None,
                "first_admin_reply_at": replied,
                "first_close_at": created + DAY if state == "closed" else None,
                "last_assignment_at": created if assigned else None,
                "last_assignment_admin_reply_at": replied,
                "last_contact_reply_at": created if inbound else None,
                "last_admin_reply_at": replied,
                "last_close_at": created + DAY if state == "closed" else None,
                "last_closed_by_id": self._admin_id(admin) if state == "closed" else None,
                "count_reopens": int(x() * 2),
                "count_assignments": int(assigned),
                "count_conversation_parts": 0,
            },
            "conversation_rating": {
                "rating": 1 + int(x() * 5),
                "remark": "",
                "created_at": created + 2 * DAY,
                "contact": contact,
                "teammate": self._refs["admins"][admin],
            }
            if rated
            else None,
            "teammates": self._refs["teammates"][admin] if assigned else None,
            "custom_attributes": {"Issue type": pick(r, ("Billing", "Bug", "Question"))}
            if x() < 0.5
            else {},
            "topics": {},
            "ticket": None,
            "linked_objects": NO_LINKS,
            "ai_agent": None,
            "ai_agent_participated": False,
        }
        if x() < 0.15:
            conversation["ai_agent_participated"] = True
            conversation["ai_agent"] = pick(r, AI_AGENTS)
        if x() < 0.1:
            conversation["topics"] = {
                "type": "topic.list",
                "topics": [{"type": "topic", "id": 712 + i % 3, "name": "Billing"}],
                "total_count": 1,
            }
        if x() < 0.05:
            conversation["linked_objects"] = links("ticket", str(400_000 + i % 97), "Back-office")
        return conversation

    def _add_part(self, conversation: dict, ts: int, r: random.Random) -> None:
        self._part_ids += 1
        x = r.random
        kind = pick(r, PART_TYPES)
        admin = int(x() * 8)
        # A bot's author carries `from_ai_agent`/`is_ai_answer` (newer API versions only).
        author = (
            pick(r, self._refs["bots"])
            if kind == "comment" and x() < 0.1
            else self._refs["authors"][admin]
        )
        part = {
            "type": "conversation_part",
            "id": str(6_410_000_000 + self._part_ids),
            "part_type": kind,
            "body": f"<p>{self._text(r)}</p>" if kind in {"comment", "note"} else None,
            "created_at": ts,
            "updated_at": ts,
            "notified_at": ts,
            "assigned_to": self._refs["admins"][admin] if kind == "assignment" else None,
            "author": author,
            "attachments": [self._attachment(r, ts)] if kind == "comment" and x() < 0.1 else [],
            "external_id": None,
            "redacted": False,
        }
        if kind == "note" and x() < 0.5:
            part["app_package_code"] = "sandbox-notes"  # parts an app created
        source = conversation.get("source")
        if kind == "comment" and isinstance(source, dict) and source.get("type") == "email":
            part["email_message_metadata"] = {
                "subject": f"Re: {source.get('subject') or 'your question'}",
                "email_address_headers": [
                    {"type": "from", "email_address": author["email"], "name": author["name"]},
                    {"type": "to", "email_address": "customer@example.com", "name": None},
                ],
            }
        self.tables["conversation_parts"].setdefault(conversation["id"], []).append(part)
        conversation["updated_at"] = max(number(conversation.get("updated_at")), ts)
        statistics = conversation.get("statistics")
        if isinstance(statistics, dict):  # not after drift or `replace`
            statistics["count_conversation_parts"] = (
                statistics.get("count_conversation_parts") or 0
            ) + 1

    def _make_ticket_types(self) -> list[dict]:
        def attribute(type_id: int, j: int, name: str, multiline: bool) -> dict:
            return {
                "type": "ticket_type_attribute",
                "id": str(7_020_100 + 10 * type_id + j),
                "workspace_id": WORKSPACE,
                "name": name,
                "description": "",
                "data_type": "string",
                "input_options": {"multiline": multiline},
                "order": j,
                "required_to_create": j == 0,
                "required_to_create_for_contacts": False,
                "visible_on_create": True,
                "visible_to_contacts": j == 0,
                "default": True,
                "ticket_type_id": type_id,
                "archived": False,
                "created_at": EPOCH,
                "updated_at": EPOCH,
            }

        return [
            {
                "type": "ticket_type",
                "id": str(type_id),
                "name": name,
                "description": f"{name} reported by a customer or a teammate.",
                "icon": icon,
                "workspace_id": WORKSPACE,
                "archived": False,
                "created_at": EPOCH,
                "updated_at": EPOCH,
                "is_internal": category != "Customer",
                "ticket_type_attributes": {
                    "type": "list",
                    "data": [
                        attribute(type_id, 0, "_default_title_", False),
                        attribute(type_id, 1, "_default_description_", True),
                    ],
                },
                "category": category,
            }
            for type_id, name, icon, category in (
                (1, "Bug", "\U0001f41e", "Customer"),
                (2, "Refund", "\U0001f4b8", "Back-office"),
                (3, "Outage", "\U0001f6a8", "Tracker"),
            )
        ]

    def _ticket(self, i: int, r: random.Random) -> dict:
        x = r.random
        created = EPOCH + int(x() * SPAN)
        updated = created + int(x() * 3 * DAY)
        state = pick(r, tuple(TICKET_STATES))
        ticket_type = pick(r, self._ticket_types)
        admin = int(x() * 8)
        assigned = x() < 0.6
        comment = x() < 0.3
        parts = [
            {
                "type": "ticket_part",
                "id": str(21_480_000_000 + 4 * i + j),
                "part_type": ("assignment", "comment", "ticket_state_updated_by_admin")[j],
                "body": f"<p>{self._text(r)}</p>" if j == 1 else None,
                "ticket_state": state if j == 2 else "submitted",
                "previous_ticket_state": "submitted",
                "created_at": created + j,
                "updated_at": created + j,
                "assigned_to": None if j else self._refs["admins"][admin],
                "author": self._refs["authors"][admin],
                "attachments": [self._attachment(r, created)] if j == 1 else [],
                "external_id": None,
                "redacted": False,
            }
            for j in (0, *(1,) * comment, *(2,) * (state != "submitted"))
        ]
        if x() < 0.3:
            parts[-1]["app_package_code"] = "sandbox-sync"  # newer API versions only
        return {
            "type": "ticket",
            "id": str(400_000 + i),
            "ticket_id": str(1 + i),
            "ticket_attributes": {
                "_default_title_": self._text(r).capitalize(),
                "_default_description_": self._text(r) if x() < 0.7 else None,
            },
            "ticket_state": state,
            "ticket_type": ticket_type,
            "contacts": {"type": "contact.list", "contacts": [self._contact_ref(r)]},
            "admin_assignee_id": self._admin_id(admin) if assigned else "0",
            "team_assignee_id": str(6_102_300 + admin % 4) if assigned and x() < 0.5 else "0",
            "created_at": created,
            "updated_at": updated,
            "ticket_parts": {
                "type": "ticket_part.list",
                "ticket_parts": parts,
                "total_count": len(parts),
            },
            "open": state != "resolved",
            "snoozed_until": updated + DAY
            if state == "waiting_on_customer" and x() < 0.3
            else None,
            "linked_objects": links("conversation", str(100_000_000 + 2 * i), None)
            if x() < 0.1
            else NO_LINKS,
            "category": ticket_type["category"],
            "is_shared": ticket_type["category"] == "Customer",
            "ticket_state_internal_label": TICKET_STATES[state],
            "ticket_state_external_label": TICKET_STATES[state],
        }

    def _add_activity(self, ts: int, r: random.Random) -> None:
        i = int(r.random() * 8)
        admin = self.tables["admins"][i]
        kind = pick(
            r,
            (
                "admin_login_success",
                "app_name_change",
                "admin_away_mode_change",
                "app_team_creation",
            ),
        )
        metadata: dict[str, t.Any]
        if kind == "admin_login_success":
            metadata = {"sign_in_method": pick(r, ("email_password", "google_sso"))}
            text = f"{admin['name']} successfully logged in."
        elif kind == "app_name_change":
            before, after = pick(r, WORDS).title(), pick(r, WORDS).title()
            metadata = {"before": before, "after": after}
            text = f"{admin['name']} changed your app name from {before} to {after}."
        elif kind == "admin_away_mode_change":
            away = r.random() < 0.5
            metadata = {
                "away_mode": away,
                "away_status_reason": "On a break" if away else None,
                "reassign_conversations": False,
                "source": f"admin update from web - Admin id: {admin['id']}",
                "auto_changed": "false",
                "update_by": int(admin["id"]),
                "update_by_name": admin["name"],
            }
            text = f"{admin['name']} changed their away mode."
        else:
            team = self.tables["teams"][i % 4]
            metadata = {"team": {"id": int(team["id"]), "name": team["name"], "member_count": 2}}
            text = f"{admin['name']} created a new team, {team['name']}, with 2 members."
        self.tables["activity_logs"].append(
            {
                "id": uid(r),
                "performed_by": self._refs["performed_by"][i],
                "metadata": metadata,
                "created_at": ts,
                "activity_type": kind,
                "activity_description": text,
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
        tables = self.tables
        with self.lock:
            for row in tables["contacts"][:contacts]:
                self.clock += 7
                row["updated_at"] = self.clock
            tables["contacts"].append(self._contact(len(tables["contacts"]), r))
            tables["contacts"][-1]["created_at"] = tables["contacts"][-1]["updated_at"] = self.clock
            for row in tables["conversations"][:conversations]:
                self.clock += 7
                self._add_part(row, self.clock, r)
            conversation = self._conversation(len(tables["conversations"]), r)
            conversation["created_at"] = conversation["updated_at"] = self.clock
            tables["conversations"].append(conversation)
            tables["conversation_parts"][conversation["id"]] = []
            self._add_part(conversation, self.clock, r)
            for row in tables["tickets"][:tickets]:
                self.clock += 7
                row["updated_at"] = self.clock
            tables["tickets"].append(self._ticket(len(tables["tickets"]), r))
            tables["tickets"][-1]["created_at"] = tables["tickets"][-1]["updated_at"] = self.clock
            for _ in range(logs):
                self.clock += 3
                self._add_activity(self.clock, r)
            self.clock += 1
            self.changed()

    def delete_parent(self, stream: str, record_id: t.Any) -> None:
        """Delete a company or conversation after its list was read: its detail and
        children answer 404 while list pages still show it."""
        with self.lock:
            self.gone[stream].add(str(record_id))

    # -- tables, views, replace ------------------------------------------------------------

    def replace(self, stream: str, records: list[dict]) -> None:
        """Serve exactly `records`. A child's records are filed under the first parent
        served (a parent key they carry is set to that parent's id); a parent's children
        move to the new parents by position (the first new parent gets the first old
        parent's children, and so on)."""
        with self.lock:
            if stream in CHILDREN:
                parent, key = CHILDREN[stream]
                rows = [dict(record) for record in records]
                served = [
                    p.get("id")
                    for p in self.tables[parent]
                    if str(p.get("id")) not in self.gone[parent]
                ]
                for row in rows:
                    if key in row and served:
                        row[key] = served[0]
                self.tables[stream] = {served[0]: rows} if served else {}
                self.changed()
                return
            for child, (parent, key) in CHILDREN.items():
                if parent == stream:
                    old = [self.tables[child].get(p.get("id"), []) for p in self.tables[parent]]
                    self.tables[child] = {}
                    for new, rows in zip(records, old, strict=False):
                        for row in rows:
                            if key in row:
                                row[key] = new.get("id")
                        self.tables[child][new.get("id")] = rows
            super().replace(stream, records)

    def changed(self) -> None:
        self._views.clear()
        self._index.clear()

    def index(self, stream: str) -> dict[str, t.Any]:
        """Path segment → record (parents) or records (children), cached until data
        changes. A parent's id goes into a path as its text."""
        if stream not in self._index:
            rows = self.tables[stream]
            if isinstance(rows, dict):
                self._index[stream] = {str(key): value for key, value in rows.items()}
            else:
                self._index[stream] = {str(row.get("id")): row for row in rows}
        return self._index[stream]

    def view(self, stream: str, field: str | None) -> tuple[list[dict], list[tuple]]:
        """`stream` sorted by (field, id), with its sort keys (cached until data changes)."""
        if (stream, field) not in self._views:
            keyed = sorted(
                ((sort_key(row, field), row) for row in self.tables[stream]), key=lambda kr: kr[0]
            )
            self._views[stream, field] = [row for _, row in keyed], [key for key, _ in keyed]
        return self._views[stream, field]

    def expected_counts(self) -> dict[str, int]:
        counts = super().expected_counts()
        for child, (parent, _) in CHILDREN.items():
            served = {str(row.get("id")) for row in self.tables[parent]} - self.gone[parent]
            counts[child] = sum(
                len(rows) for key, rows in self.index(child).items() if key in served
            )
        return counts

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
        self, request: Request, stream: str, field: str | None, start: int
    ) -> tuple[list[dict], str | None]:
        """A page of the `stream` view from `start` on (after `?next=`), and the next cursor."""
        rows, keys = self.view(stream, field)
        if "next" in request.query:
            after = tuple(decode_cursor(request.query["next"], 3))
            start = max(start, bisect_right(keys, after))
        size = PAGE_SIZES[stream]
        more = start + size < len(rows)
        return rows[start : start + size], encode_cursor(*keys[start + size - 1]) if more else None

    def search(self, request: Request, stream: str, container: str, list_type: str) -> Response:
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
            rows, keys = self.view(stream, "updated_at")
            first = bisect_left(keys, (lo,))
            end = bisect_left(keys, (hi,))
            start = first
            if pagination.get("starting_after") is not None:
                after = tuple(decode_cursor(str(pagination["starting_after"]), 3))
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

    @route("GET", *LISTS)
    def get_list(self, request: Request) -> Response:
        stream, list_type, container = LISTS[request.path]
        return Response({"type": list_type, container: self.tables[stream]})

    @route("POST", *SEARCHES)
    def post_search(self, request: Request) -> Response:
        stream, list_type, container = SEARCHES[request.path]
        return self.search(request, stream, container, list_type)

    @route("GET", "/v1/admins/activity_logs")
    def get_activity_logs(self, request: Request) -> Response:
        try:
            since = int(request.query["created_at_after"])
            keys = self.view("activity_logs", "created_at")[1]
            page, cursor = self.next_cursor_page(
                request, "activity_logs", "created_at", bisect_left(keys, (since,))
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

    @route("GET", "/v1/segments")
    def get_segments(self, request: Request) -> Response:
        try:
            page, cursor = self.next_cursor_page(request, "segments", None, 0)
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
        rows = self.tables["companies"][start : start + PAGE_SIZES["companies"]]
        self._scrolls[param] = start + len(rows)
        return Response(
            {
                "type": "list",
                "data": rows,
                "pages": None,
                "total_count": None,
                "scroll_param": param,
            }
        )

    @route("GET", "/v1/data_attributes")
    def get_data_attributes(self, request: Request) -> Response:
        model = request.query.get("model")
        if model not in {"company", "contact"}:
            return self.error(400, f"model must be company or contact, got {model!r}")
        return Response({"type": "list", "data": self.tables[f"{model}_attributes"]})

    @route("GET", "/v1/conversations/{conversation_id}")
    def get_conversation(self, request: Request, conversation_id: str) -> Response:
        conversation = self.index("conversations").get(conversation_id)
        if conversation is None or conversation_id in self.gone["conversations"]:
            return self.error(404, f"Conversation {conversation_id} not found")
        parts = self.index("conversation_parts").get(conversation_id, [])
        if self.flat_parts:
            return Response({**conversation, "conversation_parts": parts})
        nested = {"type": "conversation_part.list", "conversation_parts": parts}
        return Response(
            {**conversation, "conversation_parts": {**nested, "total_count": len(parts)}}
        )

    @route("GET", "/v1/companies/{company_id}/segments")
    def get_company_segments(self, request: Request, company_id: str) -> Response:
        if company_id not in self.index("companies") or company_id in self.gone["companies"]:
            return self.error(404, f"Company {company_id} not found")
        return Response(
            {"type": "list", "data": self.index("company_segments").get(company_id, [])}
        )


API = CustomerMessagingAPI
