"""Sandbox of the CRM and helpdesk API: a deterministic synthetic account on 127.0.0.1.

HTTP Basic on every request (user `email`, password `api_key`); records in `data`.

Records have the real API's shapes and its awkward spots:

- ids are 64-bit datastore ids between 2**52 and 2**53 (beyond 32 bits, still exact in a
  double); helpdesk tickets are numbered 1, 2, 3, ...; a few contacts carry their id and
  `created_time` as decimal strings, as the API's own contact example does;
- times are epoch *seconds* (`created_time`, `updated_time`, `close_date`, `due`, `start`,
  ...) except where the API counts *milliseconds*: every time of a ticket, a ticket
  filter's `updated_time`, `viewed.viewed_time`, `tagsWithTime[].createdTime` and campaign
  status times; `0` means "never";
- contact and company attributes are a list of `{type, name, subtype, value}` objects
  (`SYSTEM` fields and the account's `CUSTOM` fields), an address is JSON text inside
  `value`, and a custom value may be a number;
- deals name their track's milestone as a string and carry `"cursor": ""` and
  `"count": ""` on every record; a track lists its milestones as comma-separated text;
- one ticket filter has `conditions` as an empty object instead of a list;
- fields left out when unset (a ticket's `first_replied_time`, a deal's `won_date`), and
  fields beyond the tap's declared schemas (events: `eventOwner`, `ownerPic`,
  `deal_ids`; tickets: `due_time`, `closed_time`; deals: `currency_type`).

Record cursor pagination on `contacts`, `companies`, `deals` and `campaigns`:
`page_size=<n>` (1..100, 25 when absent), then `cursor=<c>`. Rows come in id order
(numeric ids and numeric strings by value); the cursor is an opaque token naming the last
row served. The server does not look ahead: the last record of every *full* page carries
`cursor`, so the page after a full last page is empty (`{"data": []}`); a short page's
last record carries no cursor (or an empty one: `""` is no cursor). The other seven
resources are one page each. There is no time filter and no sort parameter on any
endpoint.

Every stream's records live in `tables[stream]` and are served from there, so `replace`
serves records nobody here wrote (any shape: a row without an id sorts last).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import math
import typing as t

from rest_taps.common.sandbox import Request, Response, SandboxAPI, collector_paused, route
from rest_taps.common.sandbox.data import EPOCH, WORDS, opaque, pick, rng, unopaque, words

if t.TYPE_CHECKING:
    import random

DAY = 86_400
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
CURSOR_FIELD = "cursor"

CURSOR_STREAMS = ("contacts", "companies", "deals", "campaigns")
SINGLE_PAGE_STREAMS = (
    "notes",
    "tasks",
    "events",
    "milestone",
    "documents",
    "ticket_filters",
    "tickets",
)
STREAMS = (*CURSOR_STREAMS, *SINGLE_PAGE_STREAMS)
#: Tables some of whose integer ids are served as decimal strings (`"822"`).
DECIMAL_STRING_IDS = ("notes", "tasks", "events")

#: First id of each table's datastore ids (ids grow by about 2**20 a row).
ID_BASE = {
    "users": 6_333_186_975_989_760,
    "milestone": 4_644_337_115_725_824,
    "ticket_filters": 5_207_287_069_147_136,
    "companies": 5_066_549_580_791_808,
    "contacts": 5_629_499_534_213_120,
    "deals": 5_910_974_510_923_776,
    "campaigns": 4_785_074_604_081_152,
    "notes": 5_348_024_557_502_464,
    "tasks": 5_770_237_022_568_448,
    "events": 6_192_449_487_634_432,
    "documents": 6_473_924_464_345_088,
    "groups": 5_488_762_045_857_792,
}
#: The field `touch` moves, and its unit (1 = seconds, 1000 = milliseconds).
UPDATED = {
    "contacts": ("updated_time", 1),
    "companies": ("updated_time", 1),
    "deals": ("updated_time", 1),
    "campaigns": ("updated_time", 1),
    "ticket_filters": ("updated_time", 1000),
    "tickets": ("last_updated_time", 1000),
}

TRACKS = (
    ("Default", "New,Prospect,Proposal,Won,Lost"),
    ("Renewals", "Open,Negotiation,Renewed,Churned"),
    ("Partners", "Lead,Qualified,Contract,Won,Lost"),
    ("Enterprise", "Discovery,Pilot,Security review,Proposal,Won,Lost"),
)
TICKET_FILTERS = (
    ("Everything", ("NEW", "OPEN", "PENDING", "CLOSED")),
    ("Just arrived", ("NEW",)),
    ("Assigned to me", None),
    ("Open", ("OPEN",)),
    ("Waiting on customer", ("PENDING",)),
    ("Done", ("CLOSED",)),
    ("Urgent and open", ("OPEN",)),
    ("Drafts", {}),  # the API sends an empty object where a list is documented
)
TASK_TYPES = ("CALL", "EMAIL", "FOLLOW_UP", "MEETING", "MILESTONE", "SEND", "TWEET", "OTHER")
TASK_STATUSES = ("YET_TO_START", "IN_PROGRESS", "COMPLETED")
TICKET_STATUSES = ("NEW", "OPEN", "PENDING", "CLOSED")
TAGS = ("prospect", "hot lead", "newsletter", "trial", "vip", "partner")
CUSTOM_VALUES = ("webinar", "5", "English", "referral", "250", "German", "trade show")
CITIES = (
    ("400 Harbor Lane", "Portland", "Oregon", "97201", "US"),
    ("Plot 7, Ring Road", "Pune", "Maharashtra", "411001", "IN"),
    ("Torstrasse 4", "Berlin", "Berlin", "10119", "DE"),
    ("12 Rue Oberkampf", "Paris", "Ile-de-France", "75011", "FR"),
)
#: Addresses as the API sends them: JSON text inside a property's `value`.
ADDRESSES = tuple(
    json.dumps({"address": a, "city": c, "state": s, "zip": z, "country": k}, separators=(",", ":"))
    for a, c, s, z, k in CITIES
)

FIRST_NAMES = {w: {"type": "SYSTEM", "name": "first_name", "value": w.title()} for w in WORDS}
LAST_NAMES = {w: {"type": "SYSTEM", "name": "last_name", "value": w.title()} for w in WORDS}
JOB_TITLES = tuple(
    {"type": "SYSTEM", "name": "title", "value": v} for v in ("CEO", "Buyer", "Engineer", "CTO")
)
ADDRESS_PROPERTIES = tuple(
    {"type": "SYSTEM", "name": "address", "subtype": "office", "value": a} for a in ADDRESSES
)
#: Account-defined fields: `CUSTOM` attributes, some with a number as their value.
CUSTOM_PROPERTIES = (
    *({"type": "CUSTOM", "name": "Lead source", "value": v} for v in ("webinar", "referral")),
    *({"type": "CUSTOM", "name": "Team size", "value": v} for v in ("5", "250", 12)),
    *({"type": "CUSTOM", "name": "Preferred language", "value": v} for v in ("English", "German")),
)


def id_order(value: t.Any) -> tuple[int, t.Any]:
    """Sort key of an id: numbers and numeric strings by value, then other ids as text,
    then rows without an id."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (0, value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return (0, int(value))
    if value is None:
        return (2, "")
    return (1, str(value))


class CrmHelpdeskAPI(SandboxAPI):
    """Synthetic CRM + helpdesk account. `records` is the number of contacts.

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
    stable_fields: t.ClassVar[dict[str, tuple[str, ...]]] = {
        stream: ("id", CURSOR_FIELD) if stream in CURSOR_STREAMS else ("id",) for stream in STREAMS
    }

    def __init__(self, records: int | None = None, seed: int = 0, *, drift: bool = False) -> None:
        super().__init__(records, seed, drift=drift)
        self.clock = EPOCH + 120 * DAY  # the API's "now"; changes happen after it
        self._views: dict[str, tuple[list[tuple], list[dict]]] = {}
        self._serial: dict[str, int] = {}
        self._refs: list[dict] | None = None
        n = self.records
        p = rng(seed, "phrases")
        #: Pools of random phrases by word count: picking one is much cheaper than
        #: drawing words one by one, which matters for 100k-row tables.
        self.phrases = {k: [words(p, k) for _ in range(256)] for k in (2, 3, 4, 6, 8)}
        self.phrases[1] = WORDS
        u = rng(seed, "users")
        self.users = [self._user(u, i) for i in range(12)]
        #: The same users in the partial form most records embed (no flags).
        self.owners = [{k: v for k, v in x.items() if not k.startswith("is_")} for x in self.users]
        self.groups = [
            {"id": ID_BASE["groups"] + (i << 20), "group_name": name, "group_email": email}
            for i, (name, email) in enumerate(
                (
                    ("Support", "support@helpdesk.example.com"),
                    ("Billing", "billing@helpdesk.example.com"),
                    ("Onboarding", "onboarding@helpdesk.example.com"),
                )
            )
        ]
        self.tables = {stream: [] for stream in STREAMS}
        self.tables["milestone"] = [
            {
                "id": ID_BASE["milestone"] + (i << 20),
                "milestones": stages,
                "name": name,
                "isDefault": i == 0,
                "won_milestone": stages.split(",")[-2],
                "lost_milestone": stages.split(",")[-1],
                "deals_exist": True,
            }
            for i, (name, stages) in enumerate(TRACKS)
        ]
        self.stages = [(x, x["milestones"].split(",")) for x in self.tables["milestone"]]
        f = rng(seed, "ticket_filters")
        self.tables["ticket_filters"] = [
            {
                "id": ID_BASE["ticket_filters"] + (i << 20),
                "name": name,
                "conditions": self._conditions(statuses),
                "owner_id": pick(f, self.users)["id"],
                "updated_time": (EPOCH + i * DAY) * 1000 + int(f.random() * 1000),
                "is_default_filter": i < 3,
            }
            for i, (name, statuses) in enumerate(TICKET_FILTERS)
        ]
        with collector_paused():
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
                self._add(table, r, [EPOCH + int(r.random() * 90 * DAY) for _ in range(count)])

    # -- rows -----------------------------------------------------------------------------

    def _add(self, table: str, r: random.Random, created: t.Iterable[int]) -> None:
        """Append one new row to `table` per creation time (ids keep growing)."""
        make = getattr(self, f"_{table}_row")
        rows = self.tables[table]
        for ts in created:
            serial = self._serial.get(table, 0)
            self._serial[table] = serial + 1
            row = make(r, serial, ts)
            if table in DECIMAL_STRING_IDS and serial % 40 == 11:
                row["id"] = str(row["id"])  # as older versions of the API send them
            rows.append(row)
        if table == "contacts":
            self._refs = None

    @staticmethod
    def _new_id(table: str, serial: int, r: random.Random) -> int:
        return ID_BASE[table] + (serial << 20) + int(r.random() * (1 << 20))

    @staticmethod
    def _user(r: random.Random, i: int) -> dict:
        """A user of the account, in the full form deals and tasks embed."""
        name = f"{pick(r, WORDS).title()} {pick(r, WORDS).title()}"
        slug = name.replace(" ", "_")
        return {
            "id": ID_BASE["users"] + (i << 20) + int(r.random() * (1 << 20)),
            "domain": "sandbox",
            "email": f"{slug.lower()}@crm.example.com",
            "phone": "",
            "name": name,
            "pic": f"https://cdn.example.com/img/gravatar/{10 + i}.png",
            "schedule_id": slug,
            "calendar_url": f"https://sandbox.crm.example.com/calendar/{slug}",
            "calendarURL": f"https://sandbox.crm.example.com/calendar/{slug}",
            "is_admin": i < 2,
            "is_account_owner": i == 0,
            "is_disabled": False,
        }

    def _words(self, r: random.Random, n: int) -> str:
        return pick(r, self.phrases[n])

    @staticmethod
    def _conditions(statuses: t.Any) -> t.Any:
        if statuses is None:
            return [{"LHS": "assignee_id", "CONDITION": "EQUALS", "RHS": "0"}]
        if isinstance(statuses, dict):
            return statuses
        return [{"LHS": "status", "CONDITION": "TICKET_STATUS_IS", "RHS": s} for s in statuses]

    def _contact_ref(self, r: random.Random) -> dict | None:
        """A contact as other records embed it: id, type and its first attributes (one
        shared object per contact)."""
        if self._refs is None:
            self._refs = [
                {"id": c["id"], "type": c["type"], "properties": c["properties"][:2]}
                for c in self.tables["contacts"]
            ]
        return pick(r, self._refs) if self._refs else None

    def _contact_refs(self, r: random.Random, most: int) -> list[dict]:
        return [c for _ in range(int(r.random() * (most + 1))) if (c := self._contact_ref(r))]

    def _entity(self, r: random.Random, created: int, kind: str) -> dict:
        """The fields contacts and companies share (one entity type on the API)."""
        updated = created + int(r.random() * 20 * DAY)
        viewed = int(r.random() * 3) == 0
        return {
            "type": kind,
            "created_time": created,
            "updated_time": updated,
            "last_contacted": 0 if viewed else updated - 3600,
            "last_emailed": 0,
            "last_campaign_emaild": 0,
            "last_called": 0,
            "viewed_time": 0,
            "viewed": (
                {"viewed_time": updated * 1000 + 412, "viewer_id": pick(r, self.users)["id"]}
                if viewed
                else {"viewed_time": 0}
            ),
            "star_value": int(r.random() * 6),
        }

    def _companies_row(self, r: random.Random, serial: int, created: int) -> dict:
        name = f"{self._words(r, 2).title()} {pick(r, ('Inc', 'Ltd', 'GmbH', 'LLC'))}"
        domain = f"{name.split(maxsplit=1)[0].lower()}{serial}.example.com"
        return {
            "id": self._new_id("companies", serial, r),
            **self._entity(r, created, "COMPANY"),
            "lead_score": 0,
            "tags": [],
            "tagsWithTime": [],
            "properties": [
                {"type": "SYSTEM", "name": "name", "value": name},
                {"type": "SYSTEM", "name": "name_lower", "value": name.lower()},
                {"type": "SYSTEM", "name": "url", "value": f"https://www.{domain}"},
                {"type": "SYSTEM", "name": "address", "value": pick(r, ADDRESSES)},
                {"type": "CUSTOM", "name": "Industry", "value": pick(r, ("Retail", "Software"))},
            ],
            "entity_type": "contact_entity",
            "owner": pick(r, self.owners),
        }

    def _contacts_row(self, r: random.Random, serial: int, created: int) -> dict:
        first, last = pick(r, WORDS), pick(r, WORDS)
        properties = [
            FIRST_NAMES[first],
            LAST_NAMES[last],
            {
                "type": "SYSTEM",
                "name": "email",
                "subtype": pick(r, ("work", "personal", "")),
                "value": f"{first}.{last}{serial}@example.com",
            },
            pick(r, JOB_TITLES),
            {
                "type": "SYSTEM",
                "name": "phone",
                "subtype": pick(r, ("work", "home", "mobile")),
                "value": f"555{int(r.random() * 10**7):07d}",
            },
            pick(r, ADDRESS_PROPERTIES),
            pick(r, CUSTOM_PROPERTIES),
            {"type": "CUSTOM", "name": "Customer since", "value": created - 400 * DAY},
        ]
        companies = self.tables["companies"]
        company = pick(r, companies) if companies and r.random() < 0.7 else None
        if company is not None:
            company_name = company["properties"][0]["value"]
            properties.insert(3, {"type": "SYSTEM", "name": "company", "value": company_name})
        tags = [t for t in TAGS if r.random() < 0.2]
        row: dict[str, t.Any] = {
            "id": self._new_id("contacts", serial, r),
            **self._entity(r, created, "PERSON"),
            "lead_score": int(r.random() * 101),
            "klout_score": "",
            "tags": tags,
            "tagsWithTime": [
                {
                    "tag": tag,
                    "createdTime": created * 1000 + 573,
                    "availableCount": 0,
                    "entity_type": "tag",
                }
                for tag in tags
            ],
            "properties": properties,
            "campaignStatus": (
                [
                    {
                        "campaign_id": str(ID_BASE["campaigns"] + (3 << 20)),
                        "campaign_name": "Welcome series",
                        "start_time": created * 1000 + 2_000,
                        "end_time": created * 1000 + 90_000,
                        "status": "Welcome series-DONE",
                    }
                ]
                if r.random() < 0.2
                else []
            ),
            "entity_type": "contact_entity",
            "source": pick(r, ("manual", "api", "import", "form")),
            "unsubscribeStatus": [],
            "emailBounceStatus": [],
            "formId": 0,
            "browserId": [],
            "lead_source_id": 0,
            "lead_status_id": 0,
            "is_lead_converted": False,
            "lead_converted_time": 0,
            "is_duplicate_existed": False,
            "owner": pick(r, self.owners),
        }
        if company is not None:
            row["contact_company_id"] = str(company["id"])
        if serial % 40 == 7:  # as the API's own contact example: numbers as decimal strings
            row["id"] = str(row["id"])
            row["created_time"] = str(created)
        return row

    def _deals_row(self, r: random.Random, serial: int, created: int) -> dict:
        track, stages = pick(r, self.stages)
        milestone = pick(r, stages)
        won = milestone == track["won_milestone"]
        contacts = [{**c, "domainUser": pick(r, self.users)} for c in self._contact_refs(r, most=2)]
        value = round(r.random() * 250_000, 2)
        row: dict[str, t.Any] = {
            "cursor": "",
            "count": "",
            "id": self._new_id("deals", serial, r),
            "name": f"{self._words(r, 2).title()} deal",
            "contact_ids": [str(c["id"]) for c in contacts],
            "custom_data": [{"name": "Referred by", "value": pick(r, CUSTOM_VALUES)}],
            "description": f"Deal for {self._words(r, 3)}",
            "expected_value": value,
            "pipeline_id": str(track["id"]),
            "milestone": milestone,
            "probability": 100 if won else int(r.random() * 100),
            "close_date": created + int(r.random() * 60) * DAY,
            "owner_id": "",
            "created_time": created,
            "updated_time": created + int(r.random() * 10 * DAY),
            "milestone_changed_time": created + DAY,
            "track": "",
            "entity_type": "deal",
            "notes": [],
            "note_ids": [],
            "note_description": "",
            "tags": [],
            "tagsWithTime": [],
            "colorName": pick(r, ("BLUE", "GREEN", "RED", "VIOLET")),
            "archived": False,
            "lost_reason_id": 0,
            "deal_source_id": 0,
            "apply_discount": False,
            "discount_value": 0.0,
            "discount_amt": 0.0,
            "discount_type": "Value",
            "total_deal_value": value,
            "isCurrencyUpdateRequired": False,
            "currency_type": "USD-$",
            "products": [],
            "owner": pick(r, self.users),
            "contacts": contacts,
            "pic": "",
        }
        if won:
            row["won_date"] = row["close_date"]
        return row

    def _campaigns_row(self, r: random.Random, serial: int, created: int) -> dict:
        owner = pick(r, self.users)
        rules = {
            "nodes": [
                {
                    "NodeDefinition": {"name": "Start", "info": "Where the campaign begins."},
                    "States": [{"start": "send_email"}],
                },
                {
                    "NodeDefinition": {"name": "Send Email"},
                    "JsonValues": [
                        {"name": "subject", "value": self._words(r, 4)},
                        {"name": "track_clicks", "value": "yes"},
                    ],
                    "States": [{"yes": "hangup"}],
                },
            ]
        }
        return {
            "id": self._new_id("campaigns", serial, r),
            "name": f"{self._words(r, 2).title()} campaign",
            "created_time": created,
            "updated_time": pick(r, (0, created + DAY)),
            "rules": json.dumps(rules, separators=(",", ":")),
            "unsubscribe": {"action": "ASK_USER", "tag": "", "unsubscribe_email": ""},
            "domainUserId": owner["id"],
            "creatorName": owner["name"],
            "is_disabled": r.random() < 0.1,
            "access_level": 1,
            "backupExists": False,
        }

    def _notes_row(self, r: random.Random, serial: int, created: int) -> dict:
        contacts = self._contact_refs(r, most=1)
        return {
            "id": self._new_id("notes", serial, r),
            "created_time": created,
            "subject": f"Call with {self._words(r, 1)}",
            "description": f"Call notes: {self._words(r, 6)}",
            "contact_ids": [str(c["id"]) for c in contacts],
            "deal_ids": [],
            "contacts": contacts,
            "entity_type": "note",
            "domainOwner": pick(r, self.owners),
        }

    def _tasks_row(self, r: random.Random, serial: int, created: int) -> dict:
        status = pick(r, TASK_STATUSES)
        done = status == "COMPLETED"
        contacts = self.tables["contacts"]
        return {
            "id": self._new_id("tasks", serial, r),
            "type": pick(r, TASK_TYPES),
            "priority_type": pick(r, ("HIGH", "NORMAL", "LOW")),
            "due": created + (1 + int(r.random() * 14)) * DAY,
            "created_time": created,
            "is_complete": done,
            "contacts": [dict(pick(r, contacts))] if contacts and r.random() < 0.8 else [],
            "subject": f"Follow up: {self._words(r, 3)}",
            "taskDescription": pick(r, ("", self._words(r, 8))),
            "entity_type": "task",
            "notes": [],
            "note_ids": [],
            "deal_ids": [],
            "deals": [],
            "progress": 100 if done else pick(r, (0, 25, 50)),
            "status": status,
            "task_start_time": created + 3600 if status != "YET_TO_START" else 0,
            "task_completed_time": created + 2 * DAY if done else 0,
            "ownerPic": f"https://cdn.example.com/img/gravatar/{serial % 12}.png",
            "taskOwner": pick(r, self.users),
        }

    def _events_row(self, r: random.Random, serial: int, created: int) -> dict:
        start = created + int(r.random() * 30) * DAY
        all_day = r.random() < 0.3
        contacts = [
            {**c, "star_value": 0, "lead_score": 0, "tags": [], "properties": c["properties"][:1]}
            for c in self._contact_refs(r, most=1)
        ]
        return {
            "id": self._new_id("events", serial, r),
            "start": start,
            "end": start + (DAY - 60 if all_day else 1800),
            "is_event_starred": r.random() < 0.1,
            "allDay": all_day,
            "title": f"{pick(r, ('Demo', 'Call', 'Review'))} with {self._words(r, 1).title()}",
            "color": pick(r, ("red", "#36C", "green")),
            "created_time": created,
            "contacts": contacts,
            "eventOwner": pick(r, self.users),
            "ownerPic": f"https://cdn.example.com/img/gravatar/{serial % 12}.png",
            "deal_ids": [],
        }

    def _documents_row(self, r: random.Random, serial: int, created: int) -> dict:
        name = self._words(r, 2).title()
        ext = pick(r, ("pdf", "docx", "PNG"))
        contacts = self.tables["contacts"]
        related = [dict(pick(r, contacts))] if contacts else []
        deal = pick(r, self.tables["deals"]) if self.tables["deals"] and r.random() < 0.5 else None
        return {
            "id": self._new_id("documents", serial, r),
            "name": name,
            "dummy_name": name.lower(),
            "uploaded_time": created,
            "extension": f"{name.replace(' ', '-').lower()}.{ext}",
            "doc_type": "ATTACHMENT",
            "text": "",
            "template_type": "",
            "size": 1_000 + int(r.random() * 5_000_000),
            "network_type": pick(r, ("S3", "GOOGLE")),
            "url": f"https://files.example.com/uploaded/{created}/{name.replace(' ', '')}.{ext}",
            "entity_type": "document",
            "contact_ids": [str(c["id"]) for c in related],
            "case_ids": [],
            "deal_ids": [str(deal["id"])] if deal else [],
            "owner": pick(r, self.owners),
            "relatedContacts": related,
            "contacts": [
                {"id": c["id"], "type": c["type"], "properties": c["properties"][:2]}
                for c in related
            ],
            "deals": [{"id": deal["id"], "name": deal["name"]}] if deal else [],
        }

    def _tickets_row(self, r: random.Random, serial: int, created: int) -> dict:
        status = pick(r, TICKET_STATUSES)
        created_ms = created * 1000 + int(r.random() * 1000)
        updated_ms = created_ms + int(r.random() * 3 * DAY) * 1000
        replied = status in ("PENDING", "CLOSED")
        assignee = pick(r, self.users) if status != "NEW" else None
        group = pick(r, self.groups)
        contact = self._contact_ref(r)
        text = f"Hi team, {self._words(r, 8)} since this morning."
        row: dict[str, t.Any] = {
            "id": serial + 1,
            "groupID": group["id"],
            "group": group,
            "assigned_to_group": assignee is None,
            "requester_name": f"{self._words(r, 1).title()} ",
            "requester_email": f"{self._words(r, 1)}{serial}@example.com",
            "subject": f"{pick(r, ('Cannot', 'How to', 'Error when'))} {self._words(r, 3)}",
            "cc_emails": [],
            "created_time": created_ms,
            "last_updated_time": updated_ms,
            "last_updated_by": "AGENT" if replied else "REQUESTER",
            "last_customer_replied_time": created_ms,
            "first_notes_text": text,
            "last_reply_text": "Thanks, we are looking into it." if replied else text,
            "is_compressed": False,
            "status": status,
            "type": pick(r, ("INCIDENT", "QUESTION", "TASK", "PROBLEM")),
            "priority": pick(r, ("LOW", "MEDIUM", "HIGH")),
            "source": pick(r, ("EMAIL", "WEB_FORM", "NEW_TICKET_DASHBOARD")),
            "created_by": "CUSTOMER",
            "user_replies_count": 2 if replied else 1,
            "no_of_reopens": 0,
            "attachments_exists": False,
            "is_favorite": False,
            "is_spam": False,
            "requester_ip_address": "",
            "html_text": "",
            "entity_type": "tickets",
            "attachments_list": [],
            "labels": [],
            "contact_ids": [],
            "last_ticket_notes": {
                "id": ID_BASE["notes"] + (1 << 40) + (serial << 8),
                "plain_text": text,
                "created_time": created_ms,
                "ticket_notes_assinee": assignee or self.users[0],
            },
        }
        if assignee is not None:
            row |= {"assigneeID": assignee["id"], "assigned_time": created_ms, "assignee": assignee}
        if contact is not None:
            row |= {"contactID": int(contact["id"]), "contact": contact}
        if replied:
            row |= {"first_replied_time": updated_ms, "last_agent_replied_time": updated_ms}
        if status == "CLOSED":
            row["closed_time"] = updated_ms
        if r.random() < 0.3:
            row["due_time"] = created_ms + 2 * DAY * 1000
        return row

    # -- data changes (used by tests) -------------------------------------------------------

    def changed(self) -> None:
        self._views.clear()

    def new_activity(self, **counts: int) -> None:
        """Create `counts[table]` new rows per table after `clock` (ids keep growing), then
        move the clock past them: `new_activity(contacts=5, tickets=2)`."""
        with self.lock:
            for table, count in counts.items():
                times = [self.clock + 13 * (i + 1) for i in range(count)]
                self._add(table, rng(self.seed, f"{table}{self.clock}"), times)
                self.clock += 13 * count
            self.clock += 1
            self.changed()

    def touch(self, table: str, ids: t.Iterable[t.Any]) -> None:
        """Move the update time of the given rows (`updated_time`, or a ticket's
        `last_updated_time`, in the table's own unit) to a moment after `clock`."""
        field, unit = UPDATED[table]
        wanted = set(ids)
        with self.lock:
            self.clock += 60
            for row in self.tables[table]:
                if row.get("id") in wanted:
                    row[field] = self.clock * unit
            self.changed()

    def delete(self, table: str, ids: t.Iterable[t.Any]) -> None:
        """Delete rows (e.g. between two pages of a cursor walk)."""
        gone = set(ids)
        with self.lock:
            self.tables[table] = [row for row in self.tables[table] if row.get("id") not in gone]
            self.changed()

    # -- record cursor ----------------------------------------------------------------------

    def view(self, stream: str) -> tuple[list[tuple], list[dict]]:
        """The rows of a cursor stream in serving order and their sort keys
        `(kind, value, position)` (cached until the data changes)."""
        if stream not in self._views:
            rows = self.tables[stream]
            keys = sorted((*id_order(row.get("id")), i) for i, row in enumerate(rows))
            self._views[stream] = (keys, [rows[key[2]] for key in keys])
        return self._views[stream]

    @staticmethod
    def encode_cursor(stream: str, position: int, key: tuple) -> str:
        """The token that resumes `stream` at `position`, after the row with sort key `key`."""
        return opaque(f"{stream}:{position}:{key[0]}:{key[1]}")

    @staticmethod
    def decode_cursor(stream: str, cursor: str) -> tuple[int, tuple[int, t.Any]] | None:
        """(position, sort key of the last row served), or None if the token is not one of
        `stream`'s cursors."""
        parts = (unopaque(cursor) or "").split(":", 3)
        if len(parts) != 4 or parts[0] != stream or not parts[1].isdigit():
            return None
        _, position, kind, value = parts
        if kind == "0":
            try:
                return int(position), (0, int(value))
            except ValueError:
                return None
        return (int(position), (int(kind), value)) if kind in ("1", "2") else None

    def resume_at(self, stream: str, cursor: str) -> int | None:
        """Where the page after `cursor` starts; None for a token that is not ours. If rows
        changed since the token was made, the position is found again from the last key,
        so a deleted row neither skips nor repeats the rows after it."""
        decoded = self.decode_cursor(stream, cursor)
        if decoded is None:
            return None
        position, key = decoded
        keys, _ = self.view(stream)
        if 0 < position <= len(keys) and keys[position - 1][:2] == key:
            return position
        return bisect.bisect_right(keys, (*key, math.inf))

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

    def cursor_page(self, request: Request, stream: str) -> Response:
        """One page of a record-cursor endpoint, in id order, never looking ahead."""
        raw_size = request.query.get("page_size", str(DEFAULT_PAGE_SIZE))
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE_SIZE:
            return self.error(400, f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}")
        size = int(raw_size)
        start = 0
        if "cursor" in request.query:
            found = self.resume_at(stream, request.query["cursor"])
            if found is None:
                return self.error(400, "invalid cursor")
            start = found
        keys, rows = self.view(stream)
        page = [dict(row) for row in rows[start : start + size]]
        if page:
            last = page[-1]
            if len(page) == size:
                last[CURSOR_FIELD] = self.encode_cursor(
                    stream, start + size, keys[start + size - 1]
                )
            elif last.get(CURSOR_FIELD):
                del last[CURSOR_FIELD]  # a token stored with the data is not this server's
        return Response({"data": page})

    @route("GET", "/v1/{stream}")
    def get_stream(self, request: Request, stream: str) -> Response:
        if stream in CURSOR_STREAMS:
            return self.cursor_page(request, stream)
        if stream in SINGLE_PAGE_STREAMS:
            return Response({"data": self.tables[stream]})
        return self.error(404, f"No route for {request.path}")


API = CrmHelpdeskAPI
