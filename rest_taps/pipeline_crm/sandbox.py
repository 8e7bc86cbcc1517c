"""Sandbox of the pipeline CRM API.

Wire protocol: `?api_token=` on every request; bodies `{"success": true, "data": …,
"additional_data": {"pagination": {…}}}`; start-cursor pagination (`start`, `limit`,
`next_start` absent on the last page); ten record types served by `GET /v1/recents`
(`items=<singular>`, `since_timestamp=YYYY-MM-DD HH:MM:SS`, records changed at or after
it, oldest first, `data: null` when nothing matches; an item deleted at or after it is an
element `{"item": …, "id": …, "data": null}` in the order of its deletion time);
`mailThreads` needs `folder=inbox`;
deal products and mail messages per parent (`data: null` for a parent without any, 404
for an unknown or deleted one).

Records come in the API's own shapes: `YYYY-MM-DD HH:MM:SS` UTC times (ISO 8601 with
milliseconds for leads, lead labels and mail threads' message times, epoch milliseconds
for mail parties), persons' e-mails and phones as lists of `{label, value, primary}`,
numeric strings where the API writes them (role counts, `visible_to`), 0/1 integers for
mail flags, empty strings for unset activity times, owners as objects in the
organizations list, users with `created`/`modified` instead of `add_time`/`update_time`,
string ids for goals, UUIDs for leads, lead labels and permission sets, large user ids.
Deals, persons, organizations and products carry the values of the account's own fields
(40-hex keys, defined in the `*_fields` tables); some deals and persons also carry a
value of a field that has no definition, and some leads values of deal fields.

Every stream's records live in `tables[stream]` (children: parent id → list) and are
served from there, so tests can `replace` them and drift mode can alter them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import typing as t

from rest_taps.common.sandbox import Request, Response, SandboxAPI, route
from rest_taps.common.sandbox.data import EPOCH, WORDS, rng, sql_time, uid

DAY = 86_400
MAX_LIMIT = 500
COMPANY_ID = 7_412_305
USER_IDS = 11_884_300  # user ids are large account-wide numbers, 17 apart here
CURRENCIES = (("EUR", "€"), ("USD", "$"), ("GBP", "£"), ("CHF", "CHF "), ("SEK", "kr "))
SYMBOLS = dict(CURRENCIES)
PHRASES = [f"{a} {b}" for a in WORDS for b in WORDS]
TITLES = [p.title() for p in PHRASES]
CC_EMAIL = f"crm-{COMPANY_ID}@example.com"

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
#: The field recents filter and sort on, where it is not `update_time`.
TIME_FIELD = {"users": "modified"}
#: Paged list endpoints and single-page endpoints → table.
PAGED = {
    "/v1/dealFields": "deal_fields",
    "/v1/activityFields": "activity_fields",
    "/v1/organizationFields": "organization_fields",
    "/v1/personFields": "person_fields",
    "/v1/productFields": "product_fields",
    "/v1/leads": "leads",
    "/v1/organizations": "organizations",
    "/v1/roles": "roles",
}
SINGLE = {
    "/v1/leadLabels": "lead_labels",
    "/v1/activityTypes": "activity_types",
    "/v1/currencies": "currencies",
    "/v1/permissionSets": "permission_sets",
}
#: Child table → (parent table, the parent reference its records carry).
CHILDREN = {"deal_products": ("deals", "deal_id"), "mail": ("mailThreads", "mail_thread_id")}


def names(text: str) -> list[str]:
    """Whitespace-separated field names."""
    return text.split()


def fixed(nulls: str = "", zeros: str = "", **values: t.Any) -> dict:
    """Values all records of a table share: `nulls` are null, `zeros` 0, then `values`."""
    return {**dict.fromkeys(names(nulls)), **dict.fromkeys(names(zeros), 0), **values}


COUNTS = (
    "email_messages_count activities_count done_activities_count undone_activities_count "
    "files_count notes_count followers_count open_deals_count related_open_deals_count "
    "closed_deals_count related_closed_deals_count won_deals_count related_won_deals_count "
    "lost_deals_count related_lost_deals_count"
)
#: Per table, the fields whose values the sandbox keeps the same in every record.
FIXED = {
    "deals": fixed(
        "archive_time last_activity_id last_activity_date last_incoming_mail_time "
        "last_outgoing_mail_time next_activity_note rotten_time origin_id channel channel_id "
        "arr mrr acv arr_currency mrr_currency acv_currency",
        " ".join(names(COUNTS)[:7]) + " participants_count",
        deleted=False,
        is_archived=False,
        visible_to="3",
        org_hidden=False,
        person_hidden=False,
    ),
    "deal_products": fixed(
        "product_variation_id duration_unit product",
        discount_type="percentage",
        duration=1,
        active_flag=True,
        enabled_flag=True,
        tax_method="exclusive",
    ),
    "persons": fixed(
        "delete_time picture_id last_activity_id last_activity_date last_incoming_mail_time "
        "last_outgoing_mail_time picture_128_url",
        COUNTS + " participant_open_deals_count participant_closed_deals_count",
        company_id=COMPANY_ID,
        active_flag=True,
        visible_to="3",
        cc_email=CC_EMAIL,
    ),
    "organizations": fixed(
        "category_id delete_time next_activity_date next_activity_time next_activity_id "
        "last_activity_id last_activity_date",
        COUNTS,
        company_id=COMPANY_ID,
        active_flag=True,
        visible_to="3",
        cc_email=CC_EMAIL,
        edit_name=True,
    ),
    "activities": fixed(
        "reference_type reference_id conference_meeting_client conference_meeting_url "
        "conference_meeting_id last_notification_time last_notification_user_id "
        "calendar_sync_include_context lead_id project_id source_timezone rec_rule "
        "rec_rule_extension "
        "rec_master_activity_id original_start_time series is_recurring lead_title lead",
        company_id=COMPANY_ID,
        notification_language_id=1,
        public_description="",
        active_flag=True,
        private=False,
        person_dropbox_bcc=CC_EMAIL,
    ),
    "notes": fixed(
        "lead_id project_id lead project",
        active_flag=True,
        pinned_to_person_flag=False,
        pinned_to_organization_flag=False,
        pinned_to_lead_flag=False,
        pinned_to_project_flag=False,
    ),
    "files": fixed(
        "log_id s3_bucket description lead_id product_id activity_id lead_name product_name "
        "mail_template_id cid",
        active_flag=True,
        inline_flag=False,
        remote_location="s3",
    ),
    "leads": fixed("origin_id channel channel_id source_deal_id next_activity_id", visible_to="3"),
    "mailThreads": fixed(
        "mail_tracking_status snippet_draft lead_id",
        "has_inline_attachments_flag deleted_flag smart_bcc_flag "
        "mail_link_tracking_enabled_flag has_draft_flag archived_flag external_deleted_flag "
        "all_messages_sent_flag",
        synced_flag=1,
        first_message_to_me_flag=1,
    ),
    "mail": fixed(
        "draft template_id",
        "mail_link_tracking_enabled_flag draft_flag deleted_flag smart_bcc_flag "
        "has_inline_attachments_flag",
        synced_flag=1,
        has_body_flag=1,
        s3_bucket="mail-bodies",
        external_deleted_flag=False,
        item_type="mailMessage",
        company_id=COMPANY_ID,
    ),
}

#: Field-definition tables: the entity's built-in fields (keys, in order) and the
#: account's own fields (name, field_type). Sizes: deal_fields 60 (two pages of 50),
#: person_fields 50 (exactly one full page), organization 25, product 15, activity 20.
SYSTEM_FIELDS = {
    "deal_fields": names(
        "id title creator_user_id user_id value currency weighted_value probability org_id "
        "pipeline_id person_id stage_id add_time update_time stage_change_time status "
        "lost_reason visible_to close_time won_time first_won_time lost_time products_count "
        "files_count notes_count followers_count email_messages_count activities_count "
        "done_activities_count undone_activities_count participants_count "
        "expected_close_date last_incoming_mail_time last_outgoing_mail_time label "
        "next_activity_date next_activity_subject last_activity_date origin channel "
        "channel_id arr mrr acv"
    ),
    "person_fields": names(
        "id name first_name last_name org_id owner_id phone email label label_ids add_time "
        "update_time visible_to open_deals_count closed_deals_count won_deals_count "
        "lost_deals_count activities_count done_activities_count undone_activities_count "
        "email_messages_count files_count notes_count followers_count next_activity_date "
        "last_activity_date last_incoming_mail_time last_outgoing_mail_time picture_id "
        "company_id first_char delete_time active_flag cc_email related_open_deals_count "
        "related_closed_deals_count related_won_deals_count related_lost_deals_count "
        "participant_open_deals_count participant_closed_deals_count next_activity_time "
        "next_activity_id last_activity_id org_name"
    ),
    "organization_fields": names(
        "id name owner_id address add_time update_time visible_to label label_ids "
        "people_count open_deals_count closed_deals_count won_deals_count lost_deals_count "
        "activities_count email_messages_count next_activity_date last_activity_date "
        "country_code cc_email"
    ),
    "product_fields": names(
        "id name code description unit tax category owner_id active_flag visible_to prices"
    ),
    "activity_fields": names(
        "id subject type done due_date due_time duration busy_flag user_id deal_id person_id "
        "org_id lead_id note public_description location add_time update_time "
        "marked_as_done_time assigned_to_user_id"
    ),
}
CUSTOM_FIELDS = {
    "deal_fields": (
        ("Region", "varchar"),
        ("Background", "text"),
        ("Budget", "monetary"),
        ("Score", "double"),
        ("Source channel", "enum"),
        ("Interests", "set"),
        ("Sign-off date", "date"),
        ("Contract period", "daterange"),
        ("Call slot", "time"),
        ("Meeting window", "timerange"),
        ("Reviewer", "user"),
        ("Partner organization", "org"),
        ("Referrer", "people"),
        ("Site address", "address"),
        ("Hotline", "phone"),
        ("Tag line", "varchar_auto"),
    ),
    "person_fields": (
        ("Nickname", "varchar"),
        ("Lifetime value", "monetary"),
        ("Segment", "enum"),
        ("Topics", "set"),
        ("Birthday", "date"),
        ("Home address", "address"),
    ),
    "organization_fields": (
        ("Industry", "enum"),
        ("Annual revenue", "monetary"),
        ("Account manager", "user"),
        ("Head office", "address"),
        ("Employees", "double"),
    ),
    "product_fields": (
        ("Supplier", "varchar"),
        ("Weight", "double"),
        ("Colour", "enum"),
        ("Sizes", "set"),
    ),
    "activity_fields": (),
}
#: Entity table → its field-definition table.
FIELDS_OF = {
    "deals": "deal_fields",
    "persons": "person_fields",
    "organizations": "organization_fields",
    "products": "product_fields",
}
#: Values some records carry for fields that have no definition (any more).
UNDEFINED_FIELDS = {"deals": ("Legacy score", "double"), "persons": ("Legacy code", "varchar")}
#: The built-in fields whose field_type is not `varchar` (or implied by the name).
SYSTEM_TYPES = {
    "id": "int",
    "user_id": "user",
    "creator_user_id": "user",
    "owner_id": "user",
    "assigned_to_user_id": "user",
    "person_id": "people",
    "org_id": "org",
    "stage_id": "stage",
    "status": "status",
    "visible_to": "visible_to",
    "label": "enum",
    "label_ids": "set",
    "type": "enum",
    "value": "monetary",
    "weighted_value": "monetary",
    "probability": "double",
    "tax": "double",
    "address": "address",
    "phone": "phone",
}
ADDRESS_PARTS = names(
    "subpremise street_number route sublocality locality admin_area_level_1 "
    "admin_area_level_2 country postal_code formatted_address"
)


@functools.cache
def address_keys(prefix: str) -> tuple[str, ...]:
    """`<prefix>` and the keys of its parts (`<prefix>_route`, ...)."""
    return (prefix, *(f"{prefix}_{part}" for part in ADDRESS_PARTS))


@functools.cache
def no_address(prefix: str) -> dict[str, None]:
    return dict.fromkeys(address_keys(prefix))


def field_key(table: str, name: str) -> str:
    """A custom field's 40-hex key (fixed per table and name)."""
    return hashlib.sha1(f"{table}:{name}".encode()).hexdigest()


def system_field_type(key: str) -> str:
    """The field_type of a built-in field."""
    if key in SYSTEM_TYPES:
        return SYSTEM_TYPES[key]
    if key.endswith(("_count", "_id")):
        return "int"
    if key.endswith(("_time", "_date")):
        return "date"
    return "varchar"


def _added(b: int) -> int:
    """A time in the first 90 days after EPOCH, on whole minutes (so ties happen)."""
    return EPOCH + (b & 0x1FFFF) % (90 * DAY // 60) * 60


def _updated(added: int, b: int) -> int:
    """Up to ten days after `added`."""
    return added + (b >> 17 & 0x3FFF) % (10 * DAY // 60) * 60


def iso_ms(ts: int) -> str:
    """Unix seconds as ISO 8601 with milliseconds (`2024-01-01T00:00:00.000Z`)."""
    return sql_time(ts).replace(" ", "T") + ".000Z"


def person_name(person_id: int) -> str:
    return TITLES[person_id * 7 % len(TITLES)]


def org_name(org_id: int) -> str:
    return f"{TITLES[org_id * 11 % len(TITLES)]} Ltd {org_id}"


class PipelineCrmAPI(SandboxAPI):
    """Synthetic pipeline CRM. `records` is the number of deals; persons and activities
    are half of it, organizations, products, leads and mail threads a quarter."""

    title = "pipeline-crm"
    credentials: t.ClassVar[dict[str, str]] = {"api_token": "sandbox-pipeline-crm-token"}
    default_records = 250
    stable_fields: t.ClassVar[dict[str, tuple[str, ...]]] = {
        **dict.fromkeys((*PAGED.values(), *SINGLE.values(), "goals"), ("id",)),
        **{table: ("id", TIME_FIELD.get(table, "update_time")) for table in RECENTS.values()},
        "deal_products": ("id", "deal_id"),
        "mail": ("id", "mail_thread_id"),
        "mailThreads": ("id", "folders"),
    }

    def __init__(self, records: int | None = None, seed: int = 0, *, drift: bool = False) -> None:
        super().__init__(records, seed, drift=drift)
        self.clock = EPOCH + 100 * DAY  # the API's "now"; changes happen after it
        self._views: dict[str, t.Any] = {}
        self._given: dict[str, list[dict]] = {}  # children given to `replace`
        self.deleted: dict[str, set] = {"deal_products": set(), "mail": set()}
        #: Recents table → its deleted items (`delete`), as recents serve them.
        self.removed: dict[str, list[Removed]] = {table: [] for table in RECENTS.values()}
        n = self.records
        quarter = max(1, n // 4)
        self.counts = {"products": quarter, "organizations": quarter, "persons": max(1, n // 2)}
        tables = self.tables
        tables["permission_sets"] = self._permission_sets()
        tables["users"] = self._build("users", 15)
        self.user_names = {user["id"]: user["name"] for user in tables["users"]}
        tables["pipelines"] = self._build("pipelines", 4)
        tables["stages"] = self._build("stages", 20)
        self._build_fields()
        tables["products"] = self._build("products", quarter)
        tables["organizations"] = self._build("organizations", quarter)
        tables["persons"] = self._build("persons", self.counts["persons"])
        tables["deal_products"] = {}
        self._deal_product_ids = 0
        tables["deals"] = self._build("deals", n)
        self.counts["deals"] = n
        tables["activities"] = self._build("activities", max(1, n // 2))
        tables["notes"] = self._build("notes", max(1, n // 2))
        tables["files"] = self._build("files", max(1, n // 5))
        tables["filters"] = self._build("filters", 12)
        tables["lead_labels"] = self._lead_labels()
        tables["leads"] = self._build("leads", quarter)
        tables["roles"] = self._roles()
        tables["goals"] = self._goals()
        tables["activity_types"] = self._activity_types()
        tables["currencies"] = self._currencies()
        tables["mail"] = {}
        tables["mailThreads"] = self._build("mailThreads", max(3, quarter))

    # -- synthetic records -------------------------------------------------------------------

    def _build(self, table: str, count: int) -> list[dict]:
        r = rng(self.seed, table)
        make = getattr(self, f"_{table}")
        return [make(i, r) for i in range(count)]

    @staticmethod
    def _user_id(b: int) -> int:
        return USER_IDS + 17 * (b % 15)

    def _user_ref(self, user_id: int) -> dict:
        """A user as the organizations list writes an owner (one object per user)."""
        refs = self._views.setdefault("user_refs", {})
        if user_id not in refs:
            user = self.tables["users"][(user_id - USER_IDS) // 17 % 15]
            refs[user_id] = {
                "id": user_id,
                "name": user["name"],
                "email": user["email"],
                "has_pic": 0,
                "pic_hash": None,
                "active_flag": user["active_flag"],
                "value": user_id,
            }
        return refs[user_id]

    def _permission_sets(self) -> list[dict]:
        r = rng(self.seed, "permission_sets")
        rows = [
            ("Global admin", "global", "admin"),
            ("Global regular", "global", "regular"),
            ("Sales admin", "sales", "admin"),
            ("Sales regular", "sales", "regular"),
            ("Account settings", "account_settings", "custom"),
        ]
        return [
            {
                "id": uid(r),
                "name": name,
                "description": f"{name} permissions" if k else "",
                "app": app,
                "type": kind,
                "assignment_count": r.randrange(0, 15),
            }
            for k, (name, app, kind) in enumerate(rows)
        ]

    def _users(self, i: int, r: t.Any) -> dict:
        b = r.getrandbits(64)
        created = _added(b)
        sets = self.tables["permission_sets"]
        name = TITLES[b % len(TITLES)]
        return {
            "id": USER_IDS + 17 * i,
            "name": name,
            "default_currency": CURRENCIES[i % len(CURRENCIES)][0],
            "locale": ("en_US", "de_DE", "fr_FR")[i % 3],
            "lang": 1 + i % 3,
            "email": f"{name.lower().replace(' ', '.')}{i}@example.com",
            "phone": f"+49 30 {1_000_000 + b % 9_000_000}" if i % 3 else None,
            "activated": i < 14,
            "last_login": sql_time(EPOCH + 95 * DAY + i * 60) if i < 13 else None,
            "created": sql_time(created),
            "modified": sql_time(_updated(created, b)),
            "has_created_company": i == 0,
            "access": [
                {"app": "global", "admin": i == 0, "permission_set_id": sets[int(i > 0)]["id"]},
                {"app": "sales", "admin": i < 3, "permission_set_id": sets[2 + int(i >= 3)]["id"]},
            ],
            "active_flag": i < 13,
            "timezone_name": ("Europe/Berlin", "America/New_York", "UTC")[i % 3],
            "timezone_offset": ("+01:00", "-05:00", "+00:00")[i % 3],
            "role_id": 1 + i % 6,
            "icon_url": f"https://img.example.com/users/{i}.png" if i % 2 else None,
            "is_you": i == 0,
            "is_deleted": i >= 14,
            "is_admin": int(i == 0),
            "signup_flow_variation": "",
        }

    def _pipelines(self, i: int, r: t.Any) -> dict:
        b = r.getrandbits(64)
        added = _added(b)
        name = f"{WORDS[b % 26].title()} pipeline"
        return {
            "id": 1 + i,
            "name": name,
            "url_title": name.replace(" ", "-"),
            "order_nr": i + 1,
            "active": i < 3,
            "deal_probability": b >> 40 & 1 == 1,
            "selected": i == 0,
            "add_time": sql_time(added),
            "update_time": sql_time(_updated(added, b)),
        }

    def _stages(self, i: int, r: t.Any) -> dict:
        b = r.getrandbits(64)
        added = _added(b)
        rotten = b >> 40 & 1 == 1
        pipeline = self.tables["pipelines"][i // 5 % 4]
        return {
            "id": 1 + i,
            "order_nr": i % 5 + 1,
            "name": f"Stage {i % 5 + 1} {WORDS[b % 26]}",
            "active_flag": True,
            "deal_probability": 20 * (i % 5 + 1),
            "pipeline_id": pipeline["id"],
            "rotten_flag": rotten,
            "rotten_days": 5 + b % 55 if rotten else None,
            "add_time": sql_time(added),
            "update_time": sql_time(_updated(added, b)),
            "pipeline_name": pipeline["name"],
            "pipeline_deal_probability": pipeline["deal_probability"],
        }

    def _products(self, i: int, r: t.Any) -> dict:
        b = r.getrandbits(64)
        added = _added(b)
        owner = self._user_id(b >> 30)
        name = f"{TITLES[b % len(TITLES)]} {i + 1}"
        # whole prices for most products, cents for some
        price = b >> 8 & 0x3FFF if i % 3 else round((b >> 8 & 0x3FFFF) / 100, 2)
        return {
            "id": 1 + i,
            "name": name,
            "code": f"SKU-{1000 + i}" if i % 5 else None,
            "description": PHRASES[b >> 20 & 511] if i % 4 == 0 else None,
            "unit": ("pcs", "hours", "licences", None)[b >> 34 & 3],
            "tax": (0, 7, 19, 20.5)[b >> 36 & 3],
            "category": str(1 + i % 5) if i % 3 else None,
            "active_flag": i % 10 != 9,
            "selectable": True,
            "first_char": name[0].lower(),
            "visible_to": "3",
            "owner_id": owner,
            "files_count": None if i % 2 else b >> 38 & 3,
            "followers_count": 1,
            "add_time": sql_time(added),
            "update_time": sql_time(_updated(added, b)),
            "prices": [
                {
                    "id": 1 + i,
                    "product_id": 1 + i,
                    "price": price,
                    "currency": CURRENCIES[b >> 50 & 3][0],
                    "cost": 0,
                    "overhead_cost": None,
                }
            ],
            "product_variations": [],
            "owner_name": self.user_names[owner],
            **self._custom("products", b, i),
        }

    def _organizations(self, i: int, r: t.Any) -> dict:
        b = r.getrandbits(64)
        added = _added(b)
        org_id = 1 + i
        owner = self._user_ref(self._user_id(b >> 30))
        label = 5 + (b >> 20 & 3) if i % 4 else None
        return {
            **FIXED["organizations"],
            "id": org_id,
            "owner_id": owner,
            "name": org_name(org_id),
            "people_count": b >> 12 & 15,
            "open_deals_count": b >> 16 & 3,
            "followers_count": 1,
            "picture_id": self._picture("organization", org_id, added) if i % 10 == 5 else None,
            "country_code": "DE" if i % 3 else None,
            "first_char": org_name(org_id)[0].lower(),
            "update_time": sql_time(_updated(added, b)),
            "add_time": sql_time(added),
            "label": label,
            "label_ids": [label] if label else [],
            **self._address("address", i % 3 != 0, b, org_id),
            "owner_name": owner["name"],
            **self._custom("organizations", b, i),
        }

    def _persons(self, i: int, r: t.Any) -> dict:
        b = r.getrandbits(64)
        added = _added(b)
        person_id = 1 + i
        name = person_name(person_id)
        first, _, last = name.partition(" ")
        org_id = 1 + (b >> 8) % self.counts["organizations"] if i % 5 else None
        owner = self._user_id(b >> 30)
        label = 1 + (b >> 20 & 3) if i % 3 else None
        phone = f"+49 30 {1_000_000 + (b >> 24) % 9_000_000}"
        return {
            **FIXED["persons"],
            "id": person_id,
            "owner_id": owner,
            "org_id": org_id,
            "name": name,
            "first_name": first,
            "last_name": last or None,
            "open_deals_count": b >> 16 & 3,
            "followers_count": 1,
            "phone": self._contacts(phone, i % 4, "work"),
            "email": self._contacts(f"{first.lower()}.{person_id}@example.com", i % 7, "work"),
            "first_char": name[0].lower(),
            "update_time": sql_time(_updated(added, b)),
            "add_time": sql_time(added),
            "next_activity_date": sql_time(added + 20 * DAY)[:10] if i % 6 == 0 else None,
            "next_activity_time": "10:30:00" if i % 12 == 0 else None,
            "next_activity_id": 1 + i if i % 6 == 0 else None,
            "label": label,
            "label_ids": [label] if label else [],
            "org_name": org_name(org_id) if org_id else None,
            "owner_name": self.user_names[owner],
            **self._custom("persons", b, i),
        }

    @staticmethod
    def _contacts(value: str, present: int, label: str) -> list[dict]:
        """A person's e-mails or phones; none is `[{"value": "", "primary": true}]`."""
        if not present:
            return [{"value": "", "primary": True}]
        return [{"label": label, "value": value, "primary": True}]

    def _deals(self, i: int, r: t.Any) -> dict:
        b = r.getrandbits(64)
        added = _added(b)
        updated = _updated(added, b)
        deal_id = 1 + i
        status = ("open", "open", "won", "lost")[b >> 31 & 3]
        currency, symbol = CURRENCIES[b >> 33 & 3]
        value = b >> 36 & 0xFFFF if i % 4 else round((b >> 36 & 0xFFFFF) / 100, 2)
        person_id = 1 + (b >> 8) % self.counts["persons"] if i % 3 else None
        org_id = 1 + (b >> 8) % self.counts["organizations"] if i % 4 else None
        owner = self._user_id(b >> 52)
        stage = self.tables["stages"][b >> 56 & 15]
        products = self._deal_products(deal_id, i, r, sql_time(added))
        self.tables["deal_products"][deal_id] = products
        closed = sql_time(updated) if status != "open" else None
        planned = i % 5 == 0
        return {
            **FIXED["deals"],
            "id": deal_id,
            "creator_user_id": owner,
            "user_id": owner,
            "person_id": person_id,
            "org_id": org_id,
            "stage_id": stage["id"],
            "title": f"{TITLES[b % len(TITLES)]} deal",
            "value": value,
            "currency": currency,
            "add_time": sql_time(added),
            "update_time": sql_time(updated),
            "stage_change_time": sql_time(updated) if i % 2 else None,
            "active": status == "open",
            "status": status,
            "probability": b >> 20 & 63 if i % 2 else None,
            "next_activity_date": sql_time(updated + 7 * DAY)[:10] if planned else None,
            "next_activity_time": "09:00:00" if i % 10 == 0 else None,
            "next_activity_id": i + 1 if planned else None,
            "next_activity_subject": "Follow-up call" if planned else None,
            "next_activity_type": "call" if planned else None,
            "next_activity_duration": "00:30:00" if planned else None,
            "lost_reason": PHRASES[b >> 24 & 511] if status == "lost" else None,
            "close_time": closed,
            "pipeline_id": stage["pipeline_id"],
            "won_time": closed if status == "won" else None,
            "first_won_time": closed if status == "won" else None,
            "lost_time": closed if status == "lost" else None,
            "products_count": len(products),
            "followers_count": 1,
            "participants_count": int(person_id is not None),
            "expected_close_date": sql_time(updated + 30 * DAY)[:10] if i % 3 else None,
            "label": str(10 + (b >> 28 & 3)) if i % 6 == 0 else None,
            "stage_order_nr": stage["order_nr"],
            "person_name": person_name(person_id) if person_id else None,
            "org_name": org_name(org_id) if org_id else None,
            "formatted_value": f"{symbol}{value:,}",
            "weighted_value": value,
            "formatted_weighted_value": f"{symbol}{value:,}",
            "weighted_value_currency": currency,
            "owner_name": self.user_names[owner],
            "cc_email": f"crm+deal{deal_id}@example.com",
            "origin": "ManuallyCreated" if i % 7 else "API",
            **self._custom("deals", b, i),
        }

    def _deal_products(self, deal_id: int, i: int, r: t.Any, added: str) -> list[dict]:
        """0-3 products per deal; every 500th deal (from the 8th) has 55, two pages."""
        count = 55 if i % 500 == 7 else i % 4
        rows = []
        products = self.tables["products"]
        for k in range(count):
            b = r.getrandbits(64)
            self._deal_product_ids += 1
            product = products[b % len(products)]
            price, currency = product["prices"][0]["price"], product["prices"][0]["currency"]
            # whole quantities mostly, fractional ones (hours) for some
            quantity = 1 + (b >> 20) % 9 if k % 3 else 1 + (b >> 20) % 80 / 8
            discount = (0, 0, 5, 12.5)[b >> 30 & 3]
            gross = round(price * quantity, 2)
            total = round(gross * (1 - discount / 100), 2)
            rows.append(
                {
                    **FIXED["deal_products"],
                    "id": self._deal_product_ids,
                    "deal_id": deal_id,
                    "product_id": product["id"],
                    "name": product["name"],
                    "order_nr": k + 1,
                    "item_price": price,
                    "quantity": quantity,
                    "discount": discount,
                    "discount_percentage": discount,
                    "sum_no_discount": gross,
                    "sum": total,
                    "currency": currency,
                    "add_time": added,
                    "last_edit": added,
                    "comments": PHRASES[b >> 34 & 511] if k == 1 else None,
                    "tax": product["tax"],
                    "quantity_formatted": str(quantity),
                    "sum_formatted": f"{SYMBOLS[currency]}{total:,}",
                }
            )
        return rows

    def _activities(self, i: int, r: t.Any) -> dict:
        b = r.getrandbits(64)
        added = _added(b)
        updated = _updated(added, b)
        done = b >> 31 & 1 == 1
        kind = ("call", "meeting", "task", "email", "deadline")[b >> 32 & 3]
        deal_id = 1 + i % self.counts["deals"] if i % 2 else None
        person_id = 1 + i % self.counts["persons"] if i % 3 else None
        org_id = 1 + i % self.counts["organizations"] if i % 3 == 0 else None
        owner = self._user_id(b >> 40)
        timed = i % 3 != 0
        guest = {
            "email_address": f"guest{i}@example.com",
            "is_organizer": 0,
            "name": person_name(1 + i),
            "person_id": person_id,
            "status": "noreply",
            "user_id": None,
        }
        return {
            **FIXED["activities"],
            "id": 1 + i,
            "user_id": owner,
            "done": done,
            "type": kind,
            "due_date": sql_time(added)[:10],
            "due_time": f"{8 + (b >> 36) % 10:02d}:{(b >> 44 & 1) * 30:02d}" if timed else "",
            "duration": "01:00" if timed else "",
            "busy_flag": kind == "meeting",
            "add_time": sql_time(added),
            "marked_as_done_time": sql_time(updated) if done else "",
            "subject": PHRASES[b >> 8 & 511].capitalize(),
            "org_id": org_id,
            "person_id": person_id,
            "deal_id": deal_id,
            "update_time": sql_time(updated),
            "update_user_id": owner if i % 4 == 0 else None,
            "note": f"<p>{PHRASES[b >> 18 & 511]}</p>" if i % 2 else "",
            "created_by_user_id": owner,
            **self._address("location", i % 8 == 0, b, i),
            "location_lat": 52.52 if i % 8 == 0 else None,
            "location_long": 13.405 if i % 8 == 0 else None,
            "attendees": [guest] if kind == "meeting" else None,
            "participants": [{"person_id": person_id, "primary_flag": True}] if person_id else [],
            "org_name": org_name(org_id) if org_id else None,
            "person_name": person_name(person_id) if person_id else None,
            "deal_title": f"Deal {deal_id}" if deal_id else None,
            "owner_name": self.user_names[owner],
            "deal_dropbox_bcc": f"crm+deal{deal_id}@example.com" if deal_id else None,
            "assigned_to_user_id": owner,
            "type_name": kind.capitalize(),
        }

    def _notes(self, i: int, r: t.Any) -> dict:
        b = r.getrandbits(64)
        added = _added(b)
        deal_id = 1 + i % self.counts["deals"] if i % 2 else None
        person_id = 1 + i % self.counts["persons"] if i % 3 == 0 else None
        org_id = 1 + i % self.counts["organizations"] if i % 5 == 0 else None
        user = self.tables["users"][b >> 40 & 7]
        return {
            **FIXED["notes"],
            "id": 1 + i,
            "user_id": user["id"],
            "deal_id": deal_id,
            "person_id": person_id,
            "org_id": org_id,
            "content": f"<p>{PHRASES[b >> 8 & 511]} {PHRASES[b >> 17 & 511]}</p>",
            "add_time": sql_time(added),
            "update_time": sql_time(_updated(added, b)),
            "pinned_to_deal_flag": deal_id is not None and i % 10 == 1,
            "last_update_user_id": user["id"] if i % 4 == 0 else None,
            "organization": {"name": org_name(org_id)} if org_id else None,
            "person": {"name": person_name(person_id)} if person_id else None,
            "deal": {"title": f"Deal {deal_id}"} if deal_id else None,
            "user": {
                "email": user["email"],
                "name": user["name"],
                "icon_url": user["icon_url"],
                "is_you": user["is_you"],
            },
        }

    def _files(self, i: int, r: t.Any) -> dict:
        b = r.getrandbits(64)
        added = _added(b)
        kind, ext = (("img", "png"), ("pdf", "pdf"), ("doc", "docx"), ("xls", "xlsx"))[b >> 32 & 3]
        file_id = 1 + i
        deal_id = 1 + i % self.counts["deals"] if i % 2 == 0 else None
        person_id = 1 + i % self.counts["persons"] if i % 2 else None
        org_id = 1 + i % self.counts["organizations"] if i % 3 == 0 else None
        stored = f"{uid(r)}.{ext}"
        return {
            **FIXED["files"],
            "id": file_id,
            "user_id": self._user_id(b >> 40),
            "add_time": sql_time(added),
            "update_time": sql_time(_updated(added, b)),
            "file_name": stored,
            "file_size": 1_000 + (b >> 8) % 5_000_000,
            "remote_id": f"company/{COMPANY_ID}/files/{stored}",
            "url": f"https://files.example.com/v1/files/{file_id}/download",
            "name": f"{PHRASES[b >> 20 & 511].replace(' ', '_')}.{ext}",
            "deal_id": deal_id,
            "person_id": person_id,
            "org_id": org_id,
            "deal_name": f"Deal {deal_id}" if deal_id else None,
            "person_name": person_name(person_id) if person_id else None,
            "people_name": person_name(person_id) if person_id else None,
            "org_name": org_name(org_id) if org_id else None,
            # files that came with an e-mail name it by a string id
            "mail_message_id": str(1 + i) if i % 6 == 1 else None,
            "file_type": kind,
        }

    def _filters(self, i: int, r: t.Any) -> dict:
        b = r.getrandbits(64)
        added = _added(b)
        return {
            "id": 1 + i,
            "name": f"{TITLES[b % len(TITLES)]} filter",
            "filter_code": None,
            "is_editable": True,
            "active_flag": i != 11,
            "type": ("deals", "people", "org", "activity", "products")[i % 5],
            "temporary_flag": None,
            "user_id": self._user_id(b >> 40),
            "add_time": sql_time(added),
            "update_time": sql_time(_updated(added, b)),
            "visible_to": ("1", "3", "7")[i % 3],
            "last_used_time": sql_time(added + DAY) if i % 2 else None,
            "custom_view_id": 100 + i if i % 4 == 0 else None,
        }

    def _leads(self, i: int, r: t.Any) -> dict:
        b = r.getrandbits(64)
        added = _added(b)
        owner = self._user_id(b >> 40)
        labels = self.tables["lead_labels"]
        lead = {
            **FIXED["leads"],
            "id": uid(r),
            "title": f"{TITLES[b % len(TITLES)]} lead",
            "owner_id": owner,
            "creator_id": owner,
            "label_ids": [label["id"] for k, label in enumerate(labels) if b >> (20 + k) & 1],
            "person_id": 1 + i % self.counts["persons"] if i % 2 else None,
            "organization_id": 1 + i % self.counts["organizations"] if i % 3 else None,
            "source_name": ("API", "Web forms", "Manually created")[i % 3],
            "origin": ("API", "WebForms", "ManuallyCreated")[i % 3],
            "is_archived": i % 9 == 0,
            "was_seen": b >> 30 & 1 == 1,
            "value": (
                {"amount": (b >> 32) % 10_000, "currency": CURRENCIES[i % 5][0]} if i % 2 else None
            ),
            "expected_close_date": sql_time(added + 40 * DAY)[:10] if i % 4 else None,
            "add_time": iso_ms(added),
            "update_time": iso_ms(_updated(added, b)),
            "cc_email": f"crm+lead{i}@example.com",
        }
        if i % 4 == 1:  # leads carry the values of deal fields
            region, background = (field_key("deal_fields", n) for n in ("Region", "Background"))
            lead[region] = WORDS[b >> 50 & 15].title()
            lead[background] = PHRASES[b >> 44 & 511]
        return lead

    def _mailThreads(self, i: int, r: t.Any) -> dict:  # noqa: N802 - the stream's name
        """A thread with 0-2 messages; every third thread is in another folder."""
        b = r.getrandbits(64)
        thread_id = 1 + i
        first = _added(b)
        user = self.tables["users"][b >> 40 & 7]
        messages = [self._message(thread_id, k, first + k * 3_600, user, r) for k in range(i % 3)]
        self.tables["mail"][thread_id] = messages
        last = first + max(0, len(messages) - 1) * 3_600
        sent = len(messages) == 2
        contact = person_name(thread_id)
        party = {
            "id": thread_id,
            "name": contact,
            "latest_sent": False,
            "email_address": f"contact{thread_id}@example.net",
            "message_time": last * 1000,
            "linked_person_id": thread_id if i % 2 else None,
            "linked_person_name": contact if i % 2 else None,
            "mail_message_party_id": 10 * thread_id,
            "linked_organization_id": None,
        }
        me = {**party, "id": user["id"], "name": user["name"], "email_address": user["email"]}
        return {
            **FIXED["mailThreads"],
            "id": thread_id,
            "account_id": f"acc-{user['id']}",
            "user_id": user["id"],
            "subject": PHRASES[b >> 8 & 511].capitalize(),
            "snippet": f"{PHRASES[b >> 17 & 511]} {PHRASES[b >> 26 & 511]}",
            "read_flag": b >> 35 & 1,
            "has_attachments_flag": int(i % 7 == 0),
            "has_real_attachments_flag": int(i % 7 == 0),
            "parties": {"to": [me], "from": [party]},
            "drafts_parties": [],
            "folders": ["inbox"] if i % 3 != 2 else [("sent", "archive")[b >> 36 & 1]],
            "version": 1 + len(messages),
            "snippet_sent": PHRASES[b >> 26 & 511] if sent else "",
            "message_count": len(messages),
            "has_sent_flag": int(sent),
            "shared_flag": int(i % 4 == 0),
            "last_message_timestamp": iso_ms(last),
            "first_message_timestamp": iso_ms(first),
            "last_message_sent_timestamp": iso_ms(last) if sent else None,
            "last_message_received_timestamp": iso_ms(first),
            "add_time": sql_time(first),
            "update_time": sql_time(last + 60),
            "deal_id": 1 + (b >> 12) % self.counts["deals"] if i % 2 else None,
            "deal_status": "open" if i % 2 else None,
        }

    def _message(self, thread_id: int, k: int, at: int, user: dict, r: t.Any) -> dict:
        b = r.getrandbits(64)
        message_id = 3 * thread_id + k
        outside = {
            "id": message_id,
            "email_address": f"contact{thread_id}@example.net",
            "name": person_name(thread_id),
            "linked_person_id": thread_id if thread_id % 2 else None,
            "linked_person_name": person_name(thread_id) if thread_id % 2 else None,
            "mail_message_party_id": 10 * thread_id,
        }
        inside = {**outside, "email_address": user["email"], "name": user["name"]}
        sent = k % 2 == 1
        attached = int(b >> 28 & 7 == 0)
        return {
            **FIXED["mail"],
            "id": message_id,
            "from": [inside if sent else outside],
            "to": [outside if sent else inside],
            "cc": [],
            "bcc": [],
            "body_url": f"https://mail.example.com/messages/{message_id}/body",
            "account_id": f"acc-{user['id']}",
            "user_id": user["id"],
            "mail_thread_id": thread_id,
            "subject": f"Re: {PHRASES[b & 511]}" if k else PHRASES[b & 511].capitalize(),
            "snippet": f"{PHRASES[b >> 9 & 511]} {PHRASES[b >> 18 & 511]}",
            "mail_tracking_status": "opened" if sent else None,
            "read_flag": b >> 27 & 1,
            "sent_flag": int(sent),
            "message_time": sql_time(at),
            "add_time": sql_time(at),
            "update_time": sql_time(at + 60),
            "has_attachments_flag": attached,
            "has_real_attachments_flag": attached,
            "s3_bucket_path": f"{COMPANY_ID}/{message_id}",
            "mua_message_id": f"<{message_id}.{thread_id}@mail.example.com>",
            "timestamp": sql_time(at),
        }

    @staticmethod
    def _address(prefix: str, present: bool, b: int, n: int) -> dict:
        """An address field and its parts (`<prefix>`, `<prefix>_route`, ...)."""
        if not present:
            return no_address(prefix)
        number, route = str(1 + n % 200), f"{WORDS[b >> 8 & 15].title()} Street"
        postal = f"10{n % 1000:03d}"
        formatted = f"{route} {number}, {postal} Berlin, Germany"
        district = WORDS[b >> 12 & 15].title()
        parts = ("", number, route, district, "Berlin", "Berlin", "", "Germany", postal, formatted)
        return dict(zip(address_keys(prefix), (formatted, *parts), strict=True))

    @staticmethod
    def _picture(item_type: str, item_id: int, added: int) -> dict:
        url = f"https://img.example.com/{item_type}/{item_id}"
        return {
            "id": item_id,
            "item_type": item_type,
            "item_id": item_id,
            "active_flag": True,
            "add_time": sql_time(added),
            "update_time": sql_time(added),
            "added_by_user_id": USER_IDS,
            "pictures": {"128": f"{url}/128.png", "512": f"{url}/512.png"},
            "value": item_id,
        }

    # -- account-defined fields -----------------------------------------------------------------

    def _build_fields(self) -> None:
        """The field-definition tables, and per entity some sets of custom-field values."""
        option_ids = iter(range(100, 10_000))
        first_ids = {"deal_fields": 12_400, "person_fields": 9_000, "organization_fields": 4_000}
        for table, system in SYSTEM_FIELDS.items():
            r = rng(self.seed, table)
            defined = [(key, key.replace("_", " ").capitalize(), False) for key in system]
            defined += [(field_key(table, name), name, True) for name, _ in CUSTOM_FIELDS[table]]
            kinds = [system_field_type(key) for key in system]
            kinds += [kind for _, kind in CUSTOM_FIELDS[table]]
            rows = []
            for i, ((key, name, custom), kind) in enumerate(zip(defined, kinds, strict=True)):
                b = r.getrandbits(64)
                added = EPOCH - (300 - b % 200 if custom else 400) * DAY
                row = {
                    "id": first_ids.get(table, 1) + i,
                    "key": key,
                    "name": name,
                    "order_nr": i,
                    "field_type": kind,
                    "json_column_flag": custom,
                    "add_time": sql_time(added),
                    "update_time": sql_time(added + DAY * (b >> 10 & 7)),
                    "last_updated_by_user_id": USER_IDS if custom else None,
                    "edit_flag": custom,
                    "details_visible_flag": custom,
                    "add_visible_flag": custom or key in {"name", "title"},
                    "important_flag": False,
                    "bulk_edit_allowed": key != "id",
                    "filtering_allowed": True,
                    "sortable_flag": True,
                    "searchable_flag": custom and kind in {"varchar", "text"},
                    "active_flag": True,
                    "index_visible_flag": True,
                    "mandatory_flag": key in {"id", "name", "title", "subject"},
                }
                if table == "deal_fields":
                    row["projects_detail_visible_flag"] = False
                    row["show_in_pipelines"] = {"show_in_all": True, "pipeline_ids": []}
                if key in {"name", "title"}:
                    row["link"] = f"/{table.removesuffix('_fields')}/"
                    row["use_field"] = "id"
                if table == "activity_fields" and key == "type":  # option ids are strings here
                    kinds_ = ("call", "meeting", "task", "email", "deadline")
                    row["options"] = [{"id": k, "label": k.capitalize()} for k in kinds_]
                elif kind in {"enum", "set"}:
                    colors = ("green", "red", "blue")
                    row["options"] = [
                        {
                            "id": next(option_ids),
                            "label": WORDS[b >> 4 * j & 15].title(),
                            "color": c,
                        }
                        for j, c in enumerate(colors)
                    ]
                rows.append(row)
            self.tables[table] = rows
        self._custom_values = {
            entity: self._value_sets(entity, self.tables[table])
            for entity, table in FIELDS_OF.items()
        }

    def _value_sets(self, entity: str, definitions: list[dict]) -> tuple[dict, list[dict]]:
        """(every custom key → None, 32 sets of values) for the records of `entity`."""
        r = rng(self.seed, f"{entity}:custom")
        sets: list[dict] = [{} for _ in range(32)]
        for field in definitions:
            if field["edit_flag"]:
                options = [option["id"] for option in field.get("options", ())]
                for values in sets:
                    b = r.getrandbits(64)
                    values.update(self._custom_value(entity, field, options, b))
        empty = dict.fromkeys(sets[0])
        if entity in UNDEFINED_FIELDS:  # only records with values carry this key
            name, kind = UNDEFINED_FIELDS[entity]
            key = field_key(f"{entity}:undefined", name)
            for k, values in enumerate(sets):
                values[key] = round(k * 1.5, 1) if kind == "double" else f"LC-{k:04d}"
        return empty, sets

    def _custom_value(self, entity: str, field: dict, options: list, b: int) -> dict:
        """One custom field's value (and its sibling keys), as the API writes it."""
        key, kind = field["key"], field["field_type"]
        day = sql_time(EPOCH + b % 365 * DAY)[:10]
        clock = f"{8 + b % 10:02d}:{(b >> 8 & 3) * 15:02d}:00"
        if kind == "monetary":
            return {key: b % 50_000, f"{key}_currency": CURRENCIES[b >> 20 & 3][0]}
        if kind == "daterange":
            return {key: day, f"{key}_until": sql_time(EPOCH + (b % 365 + 30) * DAY)[:10]}
        if kind == "timerange":
            return {key: clock, f"{key}_until": f"{9 + b % 10:02d}:{(b >> 8 & 3) * 15:02d}:00"}
        if kind == "address":
            return self._address(key, True, b, b % 1000)
        user_id = self._user_id(b)
        single = {
            "phone": f"+49 30 {1_000_000 + b % 9_000_000}",
            "double": round(b % 100_000 / 100, 2),
            "enum": options[b % len(options)] if options else None,
            # the chosen option ids, comma-separated
            "set": ",".join(str(o) for j, o in enumerate(options) if j == 0 or b >> j & 1),
            "date": day,
            "time": clock,
            # the organizations list writes referenced users as objects, recents as ids
            "user": self._user_ref(user_id) if entity == "organizations" else user_id,
            "org": 1 + b % self.counts["organizations"],
            "people": 1 + b % self.counts["persons"],
        }
        return {key: single.get(kind, PHRASES[b % len(PHRASES)])}

    def _custom(self, entity: str, b: int, i: int) -> dict:
        """The custom-field values of one record: about two in three records have some."""
        empty, sets = self._custom_values[entity]
        return sets[b >> 59] if i % 3 else empty

    # -- fixed settings lists ---------------------------------------------------------------

    def _lead_labels(self) -> list[dict]:
        r = rng(self.seed, "lead_labels")
        return [
            {
                "id": uid(r),
                "name": name,
                "color": color,
                "add_time": iso_ms(EPOCH - 200 * DAY + k * DAY),
                "update_time": iso_ms(EPOCH - 200 * DAY + (k + 3) * DAY),
            }
            for k, (name, color) in enumerate(
                [("Hot", "red"), ("Warm", "yellow"), ("Cold", "blue"), ("Partner", "green")]
            )
        ]

    def _roles(self) -> list[dict]:
        r = rng(self.seed, "roles")
        rows = []
        for i in range(6):
            children = sum(1 for j in range(1, 6) if 1 + (j - 1) // 2 == 1 + i)
            rows.append(
                {
                    "id": 1 + i,
                    "parent_role_id": None if i == 0 else 1 + (i - 1) // 2,
                    "name": "(Unassigned users)"
                    if i == 0
                    else f"{WORDS[r.randrange(26)].title()} team",
                    "active_flag": True,
                    "assignment_count": str(r.randrange(0, 10)),
                    "sub_role_count": str(children),
                    "level": 1 if i == 0 else 2 + (i - 1) // 2,
                    "description": "Default visibility group" if i == 0 else None,
                }
            )
        return rows

    def _goals(self) -> list[dict]:
        r = rng(self.seed, "goals")
        rows = []
        for i in range(8):
            kind = ("deals_won", "deals_progressed", "activities_completed", "revenue_forecast")[
                i % 4
            ]
            summed = kind in {"deals_won", "revenue_forecast"} and i % 2 == 0
            rows.append(
                {
                    "id": f"{r.getrandbits(128):032x}",
                    "owner_id": self._user_id(i),
                    "title": f"{TITLES[r.randrange(len(TITLES))]} goal",
                    "type": {
                        "name": kind,
                        "params": (
                            {"activity_type_id": [1, 2]}
                            if kind == "activities_completed"
                            else {"pipeline_id": [1 + i % 3]}
                        ),
                    },
                    "assignee": {
                        "id": self._user_id(i),
                        "type": ("person", "company", "team")[i % 3],
                    },
                    "interval": ("weekly", "monthly", "quarterly", "yearly")[i % 4],
                    "duration": {"start": "2024-01-01", "end": "2024-12-31" if i % 2 else None},
                    "expected_outcome": (
                        {"target": 1000 * (1 + i), "tracking_metric": "sum", "currency_id": 1}
                        if summed
                        else {"target": 10 + i, "tracking_metric": "quantity"}
                    ),
                    "is_active": i < 6,
                    "report_ids": [f"{r.getrandbits(64):016x}"],
                }
            )
        return rows

    def _activity_types(self) -> list[dict]:
        r = rng(self.seed, "activity_types")
        names = (
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
        return [
            {
                "id": 1 + i,
                "order_nr": i + 1,
                "name": name.capitalize(),
                "key_string": name,
                "icon_key": name if i < 6 else "car",
                "active_flag": True,
                "color": f"{r.getrandbits(24):06X}" if i >= 6 else None,
                "is_custom_flag": i >= 6,
                "add_time": sql_time(EPOCH - 400 * DAY + i * DAY),
                "update_time": sql_time(EPOCH - 400 * DAY + i * DAY + 3_600) if i >= 6 else None,
            }
            for i, name in enumerate(names)
        ]

    def _currencies(self) -> list[dict]:
        rows = [
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
        return [
            {
                "id": 1 + i,
                "code": code,
                "name": name,
                "symbol": symbol,
                "decimal_points": 0 if code in {"JPY", "PTS"} else 2,
                "active_flag": True,
                "is_custom_flag": code == "PTS",
            }
            for i, (code, name, symbol) in enumerate(rows)
        ]

    # -- data changes (used by tests) ---------------------------------------------------------

    def new_activity(
        self, new: int = 2, updated: int = 3, deleted: int = 1
    ) -> dict[str, list[int]]:
        """After `clock`: `new` new, `updated` changed and `deleted` deleted records of
        every recents type (new deals come with products; the deleted are the records
        after the changed ones); the clock moves past them. Returns the ids that changed
        (deleted ones included), per stream."""
        changed: dict[str, list[int]] = {}
        r = rng(self.seed, f"change{self.clock}")
        with self.lock:
            for table in RECENTS.values():
                rows = self.tables[table]
                field = TIME_FIELD.get(table, "update_time")
                ids = []
                for row in rows[:updated]:
                    self.clock += 60
                    row[field] = sql_time(self.clock)
                    ids.append(row["id"])
                for _ in range(new):
                    self.clock += 60
                    row = getattr(self, f"_{table}")(len(rows), r)
                    now = sql_time(self.clock)
                    if table == "users":
                        row["created"] = row["modified"] = now
                    else:
                        row["add_time"] = row["update_time"] = now
                    rows.append(row)
                    ids.append(row["id"])
                for row in rows[updated : updated + deleted]:
                    self.clock += 60
                    self.delete(table, row["id"], self.clock)
                    ids.append(row["id"])
                changed[table] = ids
            self.changed()
        return changed

    def delete(self, table: str, record_id: t.Any, at: int) -> None:
        """Delete a record of a recents table at `at` (Unix seconds): recents then serve
        it as `{"item": …, "id": …, "data": null}` to a `since_timestamp` at or before
        `at`; a deleted deal's products go with it."""
        with self.lock:
            rows = self.tables[table]
            rows[:] = [row for row in rows if row.get("id") != record_id]
            self.removed[table].append(Removed(record_id, TIME_FIELD.get(table), sql_time(at)))
            if table == "deals":
                self.tables["deal_products"].pop(record_id, None)
            self.changed()

    def delete_parent(self, stream: str, record_id: t.Any) -> None:
        """Delete a deal or mail thread after its list was read: its child endpoint
        (products, messages) answers 404 while list pages still show it."""
        child = next(child for child, (parent, _) in CHILDREN.items() if parent == stream)
        with self.lock:
            self.deleted[child].add(record_id)

    # -- tables and views -----------------------------------------------------------------------

    def replace(self, stream: str, records: list[dict]) -> None:
        """Serve exactly `records`. A child's records are filed under the first parent
        served (their parent reference, if they carry one, set to its id), again
        whenever the parents are replaced."""
        with self.lock:
            rows = [dict(record) for record in records]
            if stream in CHILDREN:
                self._given[stream] = rows
            else:
                self.tables[stream] = rows
            self.changed()
            for child, given in self._given.items():
                if stream in (child, CHILDREN[child][0]):
                    self._file_children(child, given)

    def _file_children(self, child: str, rows: list[dict]) -> None:
        parent, reference = CHILDREN[child]
        served = self.parents(parent)
        if served:
            for row in rows:
                if reference in row:
                    row[reference] = served[0]
        self.tables[child] = {served[0]: rows} if served else {}
        self.changed()

    def changed(self) -> None:
        self._views.pop("recents", None)
        self._views.pop("inbox", None)
        self._views.pop("parents", None)

    def oldest_first(self, table: str) -> tuple[int, list[str], list[dict]]:
        """(undated, times, rows) of a recents table: records without a time first
        (always served), then oldest first (cached until the data changes)."""
        views = self._views.setdefault("recents", {})
        if table not in views:
            field = TIME_FIELD.get(table, "update_time")

            def when(row: dict) -> str:
                value = row.get(field)
                return value if isinstance(value, str) else ""

            rows = sorted([*self.tables[table], *self.removed[table]], key=when)
            times = [when(row) for row in rows]
            views[table] = (bisect.bisect_left(times, "\x00"), times, rows)
        return views[table]

    def inbox(self) -> list[dict]:
        """The threads `folder=inbox` lists (those without folders included)."""
        if "inbox" not in self._views:
            self._views["inbox"] = [
                row
                for row in self.tables["mailThreads"]
                if not isinstance(row.get("folders"), list) or "inbox" in row["folders"]
            ]
        return self._views["inbox"]

    def parents(self, table: str) -> list[t.Any]:
        """Ids of the parents a full sync reads, in the order it reads them."""
        views = self._views.setdefault("parents", {})
        if table not in views:
            rows = self.oldest_first(table)[2] if table == "deals" else self.inbox()
            views[table] = [
                row["id"] for row in rows if "id" in row and not isinstance(row, Removed)
            ]
        return views[table]

    def expected_counts(self) -> dict[str, int]:
        counts = super().expected_counts()
        for table, gone in self.removed.items():  # a full sync reads every deletion
            counts[table] += len(gone)
        counts["mailThreads"] = len(self.inbox())
        for child, (parent, _) in CHILDREN.items():
            table, gone = self.tables[child], self.deleted[child]
            counts[child] = sum(
                len(table.get(key, ())) for key in self.parents(parent) if key not in gone
            )
        return counts

    # -- HTTP ---------------------------------------------------------------------------------

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
        undated, times, rows = self.oldest_first(RECENTS[items])
        first = max(undated, bisect.bisect_left(times, since))
        return self.paged(request, _Recents(items, rows, undated, first))

    @route("GET", "/v1/deals/{deal_id}/products")
    @route("GET", "/v1/mailbox/mailThreads/{thread_id}/mailMessages")
    def get_children(self, request: Request, **ids: str) -> Response:
        child = "deal_products" if "deal_id" in ids else "mail"
        (raw,) = ids.values()
        key: t.Any = int(raw) if raw.isdigit() else raw
        table = self.tables[child]
        known = key in table or key in self.parents(CHILDREN[child][0])
        if not known or key in self.deleted[child]:
            return self.error(
                404, f"{'Deal' if child == 'deal_products' else 'Mail thread'} not found"
            )
        return self.paged(request, table.get(key, ()))

    @route("GET", "/v1/mailbox/mailThreads")
    def get_mail_threads(self, request: Request) -> Response:
        if request.query.get("folder") != "inbox":
            return self.error(400, "folder is required (inbox, drafts, sent or archive)")
        return self.paged(request, self.inbox())

    @route("GET", *PAGED)
    def get_paged(self, request: Request) -> Response:
        return self.paged(request, self.tables[PAGED[request.path]])

    @route("GET", *SINGLE)
    def get_single_page(self, request: Request) -> Response:
        return self.ok(self.tables[SINGLE[request.path]])

    @route("GET", "/v1/goals/find")
    def get_goals(self, request: Request) -> Response:
        return self.ok({"goals": self.tables["goals"]})


class Removed(dict):
    """A deleted item of a recents table: its `id` and its deletion time (in the table's
    time field, so recents sort it among the records)."""

    def __init__(self, record_id: t.Any, time_field: str | None, at: str) -> None:
        super().__init__({"id": record_id, time_field or "update_time": at})


class _Recents(t.Sequence[dict]):
    """The `{item, id, data}` elements of `rows[:undated] + rows[first:]`, built only
    for the page served."""

    def __init__(self, item: str, rows: list[dict], undated: int, first: int) -> None:
        self.item = item
        self.rows = rows
        self.undated = undated
        self.first = first

    def __len__(self) -> int:
        return self.undated + len(self.rows) - self.first

    def __getitem__(self, index: t.Any) -> t.Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            return [self[i] for i in range(start, stop, step)]
        if index < 0:
            index += len(self)
        row = self.rows[index if index < self.undated else self.first + index - self.undated]
        return {
            "item": self.item,
            "id": row.get("id"),
            "data": None if isinstance(row, Removed) else row,
        }


API = PipelineCrmAPI
