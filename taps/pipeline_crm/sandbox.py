"""Sandbox of the pipeline CRM API (seed 000, CONTRACT.md section 000).

`?api_token=` on every request; bodies `{"success": true, "data": …,
"additional_data": {"pagination": {…}}}`; start-cursor pagination (`start`, `limit`,
`next_start` absent on the last page); ten record types served by `GET /v1/recents`
(`items=<singular>`, `since_timestamp=YYYY-MM-DD HH:MM:SS`, records with
`update_time >= since_timestamp`, oldest first, `data: null` when nothing matches);
`mailThreads` needs `folder=inbox`; deal products and mail messages per parent (some
parents have none, answered with `data: null`); UUID ids for leads, lead labels and
permission sets.
"""

from __future__ import annotations

import bisect
import datetime as dt
import typing as t

from taps.common.sandbox import Request, Response, SandboxAPI, route
from taps.common.sandbox.data import EPOCH, WORDS, iso, rng, sql_time, uid

DAY = 86_400
MAX_LIMIT = 500
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "JPY")
FIELD_TYPES = ("varchar", "text", "double", "monetary", "date", "enum", "set", "user", "org")

#: Recents item type (singular, as in `items=`) → table (the stream's name).
RECENTS = {
    "deal": "deals",
    "file": "files",
    "filter": "filters",
    "note": "notes",
    "activity": "activities",
    "person": "persons",
    "pipeline": "pipelines",
    "product": "products",
    "stage": "stages",
    "user": "users",
}

#: Field-definition tables and their sizes (deal_fields spans two pages of 50,
#: person_fields exactly one full page).
FIELD_TABLES = {
    "deal_fields": 60,
    "activity_fields": 20,
    "organization_fields": 25,
    "person_fields": 50,
    "product_fields": 15,
}


def words(r: t.Any, n: int = 2) -> str:
    """`n` random words (like `data.words`, one call to the generator)."""
    return " ".join(r.choices(WORDS, k=n))


def email(r: t.Any) -> str:
    """A synthetic e-mail address."""
    first, last = r.choices(WORDS, k=2)
    return f"{first}.{last}{r.getrandbits(10)}@example.com"


def _when(r: t.Any) -> int:
    """A time in the first 90 days after EPOCH, on whole minutes (so ties happen)."""
    return EPOCH + r.randrange(90 * DAY // 60) * 60


class PipelineCrmAPI(SandboxAPI):
    """Synthetic pipeline CRM. `records` is the number of deals (and persons, activities)."""

    title = "pipeline-crm"
    credentials: t.ClassVar[dict[str, str]] = {"api_token": "sandbox-pipeline-crm-token"}
    default_records = 250

    def __init__(self, records: int | None = None, seed: int = 0) -> None:
        super().__init__(records, seed)
        self.clock = EPOCH + 100 * DAY  # the API's "now"; changes happen after it
        self._sorted: dict[str, tuple[list[str], list[dict]]] = {}
        self.deleted_deals: set[int] = set()  # their products answer 404
        self.deleted_threads: set[int] = set()  # their messages answer 404
        n = self.records
        self.users = self._table("user", 15)
        self.pipelines = self._table("pipeline", 4)
        self.stages = self._table("stage", 20)
        self.products = self._table("product", max(1, n // 4))
        self.organizations = self._table("organization", max(1, n // 2))
        self.persons = self._table("person", n)
        self.deals: list[dict] = []
        self.deal_products: dict[int, list[dict]] = {}
        self._deal_product_ids = 0
        r = rng(seed, "deals")
        for i in range(n):
            self._add_deal(i, _when(r), r)
        self.activities = self._table("activity", n)
        self.notes = self._table("note", max(1, n // 2))
        self.files = self._table("file", max(1, n // 5))
        self.filters = self._table("filter", 12)
        self._build_static()
        self._build_mail(max(3, n // 2))

    # -- synthetic records -----------------------------------------------------------------

    def _table(self, item: str, count: int) -> list[dict]:
        r = rng(self.seed, item)
        make = getattr(self, f"_{item}")
        return [make(i, r) for i in range(count)]

    def _stamp(self, r: t.Any) -> tuple[str, str]:
        """(add_time, update_time) in the first 90 days."""
        added = _when(r)
        return sql_time(added), sql_time(added + r.randrange(10 * DAY // 60) * 60)

    def _user(self, i: int, r: t.Any) -> dict:
        created, updated = self._stamp(r)
        return {
            "id": 1 + i,
            "name": words(r, 2).title(),
            "email": email(r),
            "active_flag": i < 13,
            "is_admin": i == 0,
            "role_id": 1 + i % 6,
            "timezone_name": r.choice(("Europe/Berlin", "America/New_York", "UTC")),
            "last_login": None if i >= 13 else sql_time(EPOCH + 95 * DAY + i * 60),
            "add_time": created,
            "update_time": updated,
        }

    def _pipeline(self, i: int, r: t.Any) -> dict:
        added, updated = self._stamp(r)
        return {
            "id": 1 + i,
            "name": f"{words(r, 1).title()} pipeline",
            "order_nr": i + 1,
            "active": i < 3,
            "deal_probability": r.random() > 0.3,
            "add_time": added,
            "update_time": updated,
        }

    def _stage(self, i: int, r: t.Any) -> dict:
        added, updated = self._stamp(r)
        rotten = r.random() > 0.5
        return {
            "id": 1 + i,
            "name": f"Stage {i % 5 + 1} {words(r, 1)}",
            "order_nr": i % 5 + 1,
            "pipeline_id": 1 + i // 5,
            "deal_probability": 20 * (i % 5 + 1),
            "rotten_flag": rotten,
            "rotten_days": r.randrange(5, 60) if rotten else None,
            "active_flag": True,
            "add_time": added,
            "update_time": updated,
        }

    def _product(self, i: int, r: t.Any) -> dict:
        added, updated = self._stamp(r)
        return {
            "id": 1 + i,
            "name": f"{words(r, 2).title()} {i + 1}",
            "code": f"SKU-{1000 + i}" if r.random() > 0.2 else None,
            "unit": r.choice(("pcs", "hours", "licences", None)),
            "tax": float(r.choice((0, 7, 19, 20))),
            "price": round(r.uniform(5, 5000), 2),
            "currency": r.choice(CURRENCIES),
            "active_flag": r.random() > 0.1,
            "selectable": True,
            "owner_id": r.randrange(1, 16),
            "add_time": added,
            "update_time": updated,
        }

    def _organization(self, i: int, r: t.Any) -> dict:
        added, updated = self._stamp(r)
        return {
            "id": 1 + i,
            "name": f"{words(r, 2).title()} Ltd {i + 1}",
            "owner_id": r.randrange(1, 16),
            "address": f"{r.randrange(1, 200)} {words(r, 1).title()} Street" if i % 3 else None,
            "people_count": r.randrange(0, 20),
            "open_deals_count": r.randrange(0, 5),
            "active_flag": True,
            "add_time": added,
            "update_time": updated,
        }

    def _person(self, i: int, r: t.Any) -> dict:
        added, updated = self._stamp(r)
        return {
            "id": 1 + i,
            "name": words(r, 2).title(),
            "email": email(r) if i % 7 else None,
            "phone": f"+49 30 {r.randrange(10**6, 10**7)}" if i % 4 else None,
            "org_id": 1 + r.randrange(len(self.organizations)) if i % 5 else None,
            "owner_id": r.randrange(1, 16),
            "open_deals_count": r.randrange(0, 4),
            "active_flag": True,
            "add_time": added,
            "update_time": updated,
        }

    def _products_of(self, deal_id: int, i: int, r: t.Any, added: str) -> list[dict]:
        """0-3 products per deal; every 500th deal (from the 8th) has 55, two pages."""
        count = 55 if i % 500 == 7 else i % 4
        rows = []
        for _ in range(count):
            self._deal_product_ids += 1
            product = self.products[r.randrange(len(self.products))]
            quantity = r.randrange(1, 10)
            discount = float(r.choice((0, 0, 5, 10)))
            price = product["price"]
            rows.append(
                {
                    "id": self._deal_product_ids,
                    "deal_id": deal_id,
                    "product_id": product["id"],
                    "name": product["name"],
                    "item_price": price,
                    "quantity": quantity,
                    "discount": discount,
                    "sum": round(price * quantity * (1 - discount / 100), 2),
                    "currency": product["currency"],
                    "enabled_flag": True,
                    "comments": words(r, 3) if r.random() > 0.7 else None,
                    "add_time": added,
                }
            )
        return rows

    def _add_deal(self, i: int, added_ts: int, r: t.Any) -> dict:
        status = r.choice(("open", "open", "won", "lost"))
        updated_ts = added_ts + r.randrange(10 * DAY // 60) * 60
        deal_id = 1 + i
        products = self._products_of(deal_id, i, r, sql_time(added_ts))
        deal = {
            "id": deal_id,
            "title": f"{words(r, 2).title()} deal",
            "value": round(r.uniform(100, 100_000), 2),
            "currency": r.choice(CURRENCIES),
            "status": status,
            "stage_id": r.randrange(1, 21),
            "pipeline_id": r.randrange(1, 5),
            "user_id": r.randrange(1, 16),
            "person_id": r.randrange(1, len(self.persons) + 1) if i % 3 else None,
            "org_id": r.randrange(1, len(self.organizations) + 1) if i % 4 else None,
            "probability": r.randrange(0, 101) if i % 2 else None,
            "expected_close_date": (
                dt.date.fromtimestamp(updated_ts + 30 * DAY).isoformat() if i % 3 else None
            ),
            "products_count": len(products),
            "lost_reason": words(r, 2) if status == "lost" else None,
            "won_time": sql_time(updated_ts) if status == "won" else None,
            "add_time": sql_time(added_ts),
            "update_time": sql_time(updated_ts),
        }
        self.deals.append(deal)
        self.deal_products[deal_id] = products
        return deal

    def _activity(self, i: int, r: t.Any) -> dict:
        added, updated = self._stamp(r)
        done = r.random() > 0.5
        return {
            "id": 1 + i,
            "subject": words(r, 3).capitalize(),
            "type": r.choice(("call", "meeting", "task", "email", "deadline")),
            "done": done,
            "due_date": added[:10],
            "due_time": f"{r.randrange(8, 18):02d}:{r.choice((0, 30)):02d}" if i % 3 else None,
            "duration": "01:00" if i % 3 else None,
            "deal_id": 1 + i % max(1, len(self.deals)) if i % 2 else None,
            "person_id": 1 + i % len(self.persons) if i % 3 else None,
            "org_id": 1 + i % len(self.organizations) if i % 3 == 0 else None,
            "user_id": r.randrange(1, 16),
            "marked_as_done_time": updated if done else None,
            "add_time": added,
            "update_time": updated,
        }

    def _note(self, i: int, r: t.Any) -> dict:
        added, updated = self._stamp(r)
        return {
            "id": 1 + i,
            "content": f"<p>{words(r, 8)}</p>",
            "deal_id": 1 + i % len(self.deals) if i % 2 else None,
            "person_id": 1 + i % len(self.persons) if i % 3 == 0 else None,
            "org_id": 1 + i % len(self.organizations) if i % 5 == 0 else None,
            "user_id": r.randrange(1, 16),
            "pinned_to_deal_flag": i % 10 == 0,
            "active_flag": True,
            "add_time": added,
            "update_time": updated,
        }

    def _file(self, i: int, r: t.Any) -> dict:
        added, updated = self._stamp(r)
        kind = r.choice(("pdf", "docx", "png", "xlsx"))
        return {
            "id": 1 + i,
            "name": f"{words(r, 2).replace(' ', '_')}.{kind}",
            "file_type": kind,
            "file_size": r.randrange(1_000, 5_000_000),
            "deal_id": 1 + i % len(self.deals) if i % 2 == 0 else None,
            "person_id": 1 + i % len(self.persons) if i % 2 else None,
            "org_id": 1 + i % len(self.organizations) if i % 3 == 0 else None,
            "user_id": r.randrange(1, 16),
            "active_flag": True,
            "url": f"https://files.example.com/{1 + i}",
            "add_time": added,
            "update_time": updated,
        }

    def _filter(self, i: int, r: t.Any) -> dict:
        added, updated = self._stamp(r)
        return {
            "id": 1 + i,
            "name": f"{words(r, 2).title()} filter",
            "type": ("deals", "people", "org", "activity")[i % 4],
            "user_id": r.randrange(1, 16),
            "active_flag": i != 11,
            "visible_to": r.choice(("1", "3")),
            "add_time": added,
            "update_time": updated,
        }

    def _build_static(self) -> None:
        seed = self.seed
        self.fields: dict[str, list[dict]] = {}
        for table, size in FIELD_TABLES.items():
            r = rng(seed, table)
            rows = []
            for i in range(size):
                field_type = FIELD_TYPES[i % len(FIELD_TYPES)]
                options = (
                    [{"id": j + 1, "label": words(r, 1)} for j in range(3)]
                    if field_type in {"enum", "set"}
                    else None
                )
                added = _when(r)
                rows.append(
                    {
                        "id": 1 + i,
                        "key": f"{r.getrandbits(64):016x}" if i >= 10 else f"field_{i}",
                        "name": words(r, 2).capitalize(),
                        "field_type": field_type,
                        "order_nr": i,
                        "mandatory_flag": i == 0,
                        "edit_flag": i >= 10,
                        "active_flag": True,
                        "options": options,
                        "add_time": sql_time(added),
                        "update_time": sql_time(added + DAY) if i % 2 else None,
                    }
                )
            self.fields[table] = rows

        r = rng(seed, "lead_labels")
        self.lead_labels = [
            {
                "id": uid(r),
                "name": name,
                "color": color,
                "add_time": iso(EPOCH + k * DAY),
                "update_time": iso(EPOCH + (k + 3) * DAY),
            }
            for k, (name, color) in enumerate(
                [("Hot", "red"), ("Warm", "yellow"), ("Cold", "blue"), ("Partner", "green")]
            )
        ]
        r = rng(seed, "leads")
        self.leads = []
        for i in range(max(1, self.records // 2)):
            added = _when(r)
            self.leads.append(
                {
                    "id": uid(r),
                    "title": f"{words(r, 2).title()} lead",
                    "owner_id": r.randrange(1, 16),
                    "person_id": 1 + i % len(self.persons) if i % 2 else None,
                    "organization_id": 1 + i % len(self.organizations) if i % 3 else None,
                    "label_ids": [lab["id"] for lab in self.lead_labels if r.random() > 0.6],
                    "value": (
                        {"amount": round(r.uniform(100, 10_000), 2), "currency": "EUR"}
                        if i % 2
                        else None
                    ),
                    "expected_close_date": iso(added + 40 * DAY)[:10] if i % 4 else None,
                    "is_archived": i % 9 == 0,
                    "source_name": r.choice(("API", "Web forms", "Manually created")),
                    "add_time": iso(added),
                    "update_time": iso(added + r.randrange(DAY)),
                }
            )
        r = rng(seed, "permission_sets")
        self.permission_sets = [
            {
                "id": uid(r),
                "name": name,
                "description": f"{name} permissions" if k else None,
                "app": app,
                "type": kind,
                "assignment_count": r.randrange(0, 15),
            }
            for k, (name, app, kind) in enumerate(
                [
                    ("Global admin", "global", "admin"),
                    ("Global regular", "global", "regular"),
                    ("Sales admin", "sales", "admin"),
                    ("Sales regular", "sales", "regular"),
                    ("Account settings", "account_settings", "custom"),
                ]
            )
        ]
        r = rng(seed, "roles")
        self.roles = [
            {
                "id": 1 + i,
                "name": f"{words(r, 1).title()} team",
                "parent_role_id": None if i == 0 else 1 + (i - 1) // 2,
                "active_flag": True,
                "assignment_count": r.randrange(0, 10),
                "sub_role_count": sum(1 for j in range(1, 6) if 1 + (j - 1) // 2 == 1 + i),
                "level": 1 if i == 0 else 2 + (i - 1) // 2,
            }
            for i in range(6)
        ]
        r = rng(seed, "goals")
        self.goals = [
            {
                "id": 1 + i,
                "title": f"{words(r, 2).title()} goal",
                "owner_id": r.randrange(1, 16),
                "type_name": r.choice(("deals_won", "deals_progressed", "activities_completed")),
                "pipeline_id": r.choice((None, 1, 2, 3)),
                "interval": r.choice(("weekly", "monthly", "quarterly", "yearly")),
                "target": float(r.randrange(1, 100) * 1000),
                "tracking_metric": r.choice(("count", "sum")),
                "currency_id": r.choice((None, 1)),
                "is_active": i < 6,
                "duration_start": "2024-01-01",
                "duration_end": "2024-12-31" if i % 2 else None,
            }
            for i in range(8)
        ]
        r = rng(seed, "activity_types")
        self.activity_types = [
            {
                "id": 1 + i,
                "name": name.capitalize(),
                "key_string": name,
                "icon_key": name,
                "active_flag": True,
                "color": f"{r.getrandbits(24):06x}" if i >= 6 else None,
                "order_nr": i + 1,
                "is_custom_flag": i >= 6,
                "add_time": sql_time(EPOCH + i * DAY),
                "update_time": sql_time(EPOCH + i * DAY + 3_600) if i >= 6 else None,
            }
            for i, name in enumerate(
                (
                    "call",
                    "meeting",
                    "task",
                    "deadline",
                    "email",
                    "lunch",
                    "demo",
                    "visit",
                    "webinar",
                )
            )
        ]
        self.currencies = [
            {
                "id": 1 + i,
                "code": code,
                "name": name,
                "symbol": symbol,
                "decimal_points": 0 if code == "JPY" else 2,
                "active_flag": True,
                "is_custom_flag": code == "PTS",
            }
            for i, (code, name, symbol) in enumerate(
                [
                    ("EUR", "Euro", "€"),
                    ("USD", "US Dollar", "$"),
                    ("GBP", "Pound Sterling", "£"),
                    ("CHF", "Swiss Franc", "CHF"),
                    ("SEK", "Swedish Krona", "kr"),
                    ("JPY", "Yen", "¥"),
                    ("NOK", "Norwegian Krone", "kr"),
                    ("DKK", "Danish Krone", "kr"),
                    ("PLN", "Zloty", "zł"),
                    ("CAD", "Canadian Dollar", "CA$"),
                    ("AUD", "Australian Dollar", "A$"),
                    ("PTS", "Points", "pts"),
                ]
            )
        ]

    def _build_mail(self, count: int) -> None:
        r = rng(self.seed, "mail")
        self.mail_threads: list[dict] = []
        self.mail: dict[int, list[dict]] = {}
        message_id = 0
        for i in range(count):
            thread_id = 1 + i
            first = _when(r)
            # 0, 1 or 2 messages; every third thread lives in another folder
            messages = []
            for k in range(i % 3):
                message_id += 1
                at = first + k * 3_600
                messages.append(
                    {
                        "id": message_id,
                        "mail_thread_id": thread_id,
                        "from_email": email(r),
                        "to_email": email(r),
                        "subject": f"Re: {words(r, 3)}" if k else words(r, 3).capitalize(),
                        "snippet": words(r, 6),
                        "body_url": f"https://mail.example.com/{message_id}",
                        "read_flag": r.random() > 0.3,
                        "sent_flag": k % 2 == 1,
                        "has_attachments_flag": r.random() > 0.8,
                        "message_time": sql_time(at),
                        "add_time": sql_time(at),
                        "update_time": sql_time(at + 60),
                    }
                )
            self.mail[thread_id] = messages
            last = first + max(0, len(messages) - 1) * 3_600
            self.mail_threads.append(
                {
                    "id": thread_id,
                    "folder": "inbox" if i % 3 != 2 else r.choice(("sent", "archive")),
                    "subject": words(r, 3).capitalize(),
                    "snippet": words(r, 6),
                    "read_flag": r.random() > 0.4,
                    "has_attachments_flag": r.random() > 0.8,
                    "deal_id": r.randrange(1, len(self.deals) + 1) if i % 2 else None,
                    "message_count": len(messages),
                    "first_message_time": sql_time(first) if messages else None,
                    "last_message_time": sql_time(last) if messages else None,
                    "add_time": sql_time(first),
                    "update_time": sql_time(last + 60),
                }
            )
        self.inbox = [t_ for t_ in self.mail_threads if t_["folder"] == "inbox"]

    # -- data changes (used by incremental and child tests) ----------------------------------

    def new_activity(self, new: int = 2, updated: int = 3) -> dict[str, list[int]]:
        """After `clock`: `new` new and `updated` changed records of every recents type
        (new deals come with products); the clock moves past them. Returns the ids that
        changed, per stream."""
        changed: dict[str, list[int]] = {}
        r = rng(self.seed, f"change{self.clock}")
        with self.lock:
            for item, table in RECENTS.items():
                rows = getattr(self, table)
                ids = []
                for row in rows[:updated]:
                    self.clock += 60
                    row["update_time"] = sql_time(self.clock)
                    ids.append(row["id"])
                for _ in range(new):
                    self.clock += 60
                    index = len(rows)
                    if item == "deal":
                        row = self._add_deal(index, self.clock, r)
                        row["update_time"] = row["add_time"]
                    else:
                        row = getattr(self, f"_{item}")(index, r)
                        row["add_time"] = row["update_time"] = sql_time(self.clock)
                        rows.append(row)
                    ids.append(row["id"])
                changed[table] = ids
            self.clock += 60
            self._sorted.clear()
        return changed

    def delete_deal_products(self, deal_id: int) -> None:
        """The deal is gone by the time its products are read: they answer 404."""
        with self.lock:
            self.deleted_deals.add(deal_id)

    def delete_thread_messages(self, thread_id: int) -> None:
        """The thread is gone by the time its messages are read: they answer 404."""
        with self.lock:
            self.deleted_threads.add(thread_id)

    # -- views ----------------------------------------------------------------------------

    def oldest_first(self, table: str) -> tuple[list[str], list[dict]]:
        """(update_times, rows) of `table` oldest first (cached until the data changes)."""
        if table not in self._sorted:
            rows = sorted(getattr(self, table), key=lambda row: (row["update_time"], row["id"]))
            self._sorted[table] = ([row["update_time"] for row in rows], rows)
        return self._sorted[table]

    def expected_counts(self) -> dict[str, int]:
        counts = {table: len(getattr(self, table)) for table in RECENTS.values()}
        counts.update({table: len(rows) for table, rows in self.fields.items()})
        counts.update(
            {
                "goals": len(self.goals),
                "lead_labels": len(self.lead_labels),
                "leads": len(self.leads),
                "activity_types": len(self.activity_types),
                "currencies": len(self.currencies),
                "organizations": len(self.organizations),
                "permission_sets": len(self.permission_sets),
                "roles": len(self.roles),
                "mailThreads": len(self.inbox),
                "deal_products": sum(
                    len(rows)
                    for d, rows in self.deal_products.items()
                    if d not in self.deleted_deals
                ),
                "mail": sum(
                    len(self.mail[t_["id"]])
                    for t_ in self.inbox
                    if t_["id"] not in self.deleted_threads
                ),
            }
        )
        return counts

    # -- HTTP -------------------------------------------------------------------------------

    def authorized(self, request: Request) -> bool:
        return request.query.get("api_token") == self.credentials["api_token"]

    def error(self, status: int, message: str) -> Response:
        return Response({"success": False, "error": message, "errorCode": status}, status)

    def ok(self, data: t.Any, pagination: dict | None = None) -> Response:
        body: dict[str, t.Any] = {"success": True, "data": data}
        if pagination is not None:
            body["additional_data"] = {"pagination": pagination}
        return Response(body)

    def paged(self, request: Request, rows: t.Sequence[t.Any]) -> Response:
        """`rows[start:start+limit]` with the pagination block; `data: null` if empty."""
        try:
            start = int(request.query.get("start", "0"))
            limit = min(int(request.query.get("limit", "100")), MAX_LIMIT)
        except ValueError:
            return self.error(400, "start and limit must be integers")
        if start < 0 or limit < 1:
            return self.error(400, "start must be >= 0 and limit >= 1")
        page = list(rows[start : start + limit])
        more = start + limit < len(rows)
        pagination: dict[str, t.Any] = {
            "start": start,
            "limit": limit,
            "more_items_in_collection": more,
        }
        if more:
            pagination["next_start"] = start + limit
        return self.ok(page or None, pagination)

    @route("GET", "/v1/recents")
    def get_recents(self, request: Request) -> Response:
        items = request.query.get("items", "")
        since = request.query.get("since_timestamp")
        if since is None:
            return self.error(400, "since_timestamp is required")
        try:
            dt.datetime.strptime(since, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return self.error(400, "since_timestamp must be YYYY-MM-DD HH:MM:SS")
        if items not in RECENTS:
            return self.error(400, f"items must be one of {', '.join(RECENTS)}")
        times, rows = self.oldest_first(RECENTS[items])
        first = bisect.bisect_left(times, since)
        view = _Recents(items, rows, first)
        return self.paged(request, view)

    @route("GET", "/v1/deals/{deal_id}/products")
    def get_deal_products(self, request: Request, deal_id: str) -> Response:
        key = int(deal_id) if deal_id.isdigit() else -1
        if key not in self.deal_products or key in self.deleted_deals:
            return self.error(404, "Deal not found")
        return self.paged(request, self.deal_products[key])

    @route("GET", "/v1/mailbox/mailThreads")
    def get_mail_threads(self, request: Request) -> Response:
        folder = request.query.get("folder")
        if folder != "inbox":
            return self.error(400, "folder is required (inbox, drafts, sent or archive)")
        return self.paged(request, self.inbox)

    @route("GET", "/v1/mailbox/mailThreads/{thread_id}/mailMessages")
    def get_mail_messages(self, request: Request, thread_id: str) -> Response:
        key = int(thread_id) if thread_id.isdigit() else -1
        if key not in self.mail or key in self.deleted_threads:
            return self.error(404, "Mail thread not found")
        return self.paged(request, self.mail[key])

    @route("GET", "/v1/dealFields")
    def get_deal_fields(self, request: Request) -> Response:
        return self.paged(request, self.fields["deal_fields"])

    @route("GET", "/v1/activityFields")
    def get_activity_fields(self, request: Request) -> Response:
        return self.paged(request, self.fields["activity_fields"])

    @route("GET", "/v1/organizationFields")
    def get_organization_fields(self, request: Request) -> Response:
        return self.paged(request, self.fields["organization_fields"])

    @route("GET", "/v1/personFields")
    def get_person_fields(self, request: Request) -> Response:
        return self.paged(request, self.fields["person_fields"])

    @route("GET", "/v1/productFields")
    def get_product_fields(self, request: Request) -> Response:
        return self.paged(request, self.fields["product_fields"])

    @route("GET", "/v1/leads")
    def get_leads(self, request: Request) -> Response:
        return self.paged(request, self.leads)

    @route("GET", "/v1/organizations")
    def get_organizations(self, request: Request) -> Response:
        return self.paged(request, self.organizations)

    @route("GET", "/v1/roles")
    def get_roles(self, request: Request) -> Response:
        return self.paged(request, self.roles)

    @route("GET", "/v1/goals/find")
    def get_goals(self, request: Request) -> Response:
        return self.ok({"goals": self.goals})

    @route("GET", "/v1/leadLabels")
    def get_lead_labels(self, request: Request) -> Response:
        return self.ok(self.lead_labels)

    @route("GET", "/v1/activityTypes")
    def get_activity_types(self, request: Request) -> Response:
        return self.ok(self.activity_types)

    @route("GET", "/v1/currencies")
    def get_currencies(self, request: Request) -> Response:
        return self.ok(self.currencies)

    @route("GET", "/v1/permissionSets")
    def get_permission_sets(self, request: Request) -> Response:
        return self.ok(self.permission_sets)


class _Recents(t.Sequence[dict]):
    """The `{item, id, data}` elements of `rows[first:]`, built only for the page served."""

    def __init__(self, item: str, rows: list[dict], first: int) -> None:
        self.item = item
        self.rows = rows
        self.first = first

    def __len__(self) -> int:
        return len(self.rows) - self.first

    def __getitem__(self, index: t.Any) -> t.Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            return [self[i] for i in range(start, stop, step)]
        row = self.rows[self.first + index]
        return {"item": self.item, "id": row["id"], "data": row}


API = PipelineCrmAPI
