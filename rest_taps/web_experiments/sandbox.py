"""Sandbox of the web-experiments API.

Wire protocol: header `api_key`; every list endpoint pages with `limit` (at most 50) and
`offset` from 0 and returns `{"_data": [...]}`; a page shorter than `limit` is the last,
and a collection whose size is an exact multiple of 50 ends with one empty page.
Campaigns come in no particular order (not by `id`, not by `createdOn`) and there is no
server-side time filter. Errors are `{"errors": [{"code": …, "message": …}]}`.

Records have the real API's shapes: epoch seconds for every time, integer ids except the
activity feed's string ids, campaigns with nested objects and lists of objects (creator,
goals and variations collections, labels, URL rules, statistics settings whose rates
are numeric strings), users with contact fields, and the three account-settings
resources (tracking snippet, decision thresholds, third-party integrations) as one
object each for the current account, `{"_data": {...}}` without a `uid`, as the real API
answers them (a table given several records is served as a list). Some fields are
beyond the declared schemas, as in the real API: each variation's editor operations, and
the integrations record's per-tool settings objects (the real API names them after the
third-party tools; the sandbox uses neutral stand-in names).

Every stream's records live in `self.tables[stream]` and are served from there, so
`replace` serves any given records verbatim and drift mode alters them in place.

Volumes: `records` is the number of campaigns; `custom_widgets` is always a positive
multiple of 50 (and so is `campaigns` at the default 200), so every run exercises the
"exactly full last page" case; `labels` is exactly one full page.
"""

from __future__ import annotations

import random
import typing as t
import zlib

from rest_taps.common.sandbox import Request, Response, SandboxAPI, route
from rest_taps.common.sandbox.data import EPOCH, WORDS, email, rng, words

DAY = 86_400
PAGE_LIMIT = 50
MAIN_ACCOUNT = 604_817

#: Path → the stream whose table it serves. One route serves them all.
ROUTES = {
    "/v1/accounts": "accounts",
    "/v1/accounts/current/feeds": "accounts_feeds",
    "/v1/accounts/current/users": "users",
    "/v1/accounts/current/smartcode": "smartcode",
    "/v1/accounts/current/campaigns": "campaigns",
    "/v1/accounts/current/changesets": "custom_widgets",
    "/v1/accounts/current/thresholds": "thresholds",
    "/v1/accounts/current/integrations": "integrations",
    "/v1/accounts/current/labels": "labels",
}
UID_STREAMS = ("smartcode", "thresholds", "integrations")

CAMPAIGN_TYPES = ("ab", "ab", "split", "multivariate", "feature-rollout", "heatmap", "survey")
TESTS = frozenset({"ab", "split", "multivariate", "feature-rollout"})
STATUSES = ("RUNNING", "RUNNING", "PAUSED", "STOPPED", "NOT_STARTED")
PLATFORMS = ("website", "website", "website", "full-stack", "mobile-app")
GOAL_TYPES = ("visitPage", "engagement", "formSubmit", "custom-conversion")
EDITOR_OPS = ("changeText", "setStyle", "replaceImage", "moveElement", "insertHtml")
APPROACHES = ("balanced", "quick-learning", "cautious")
FEED_VERBS = ("created", "started", "paused", "stopped", "edited", "archived")
PERMISSIONS = ("administrator", "manager", "editor", "reviewer", "browse")
DEPARTMENTS = ("Marketing", "Product", "Engineering", "Design", None)
COUNTRIES = ("United States", "Germany", "India", "Brazil", None)
WIDGET_TYPES = ("popup", "banner", "slide-in", "sticky-bar", "form")


def _scramble(campaign_id: t.Any) -> int:
    """The server's internal order of campaigns: stable, but neither by id nor by time.

    Any value sorts (records given to `replace` may lack an id or carry a string)."""
    if isinstance(campaign_id, int):
        return (campaign_id * 2_654_435_761) % 4_294_967_291
    return zlib.crc32(repr(campaign_id).encode())


def _person(user: dict) -> dict:
    """The short form of a user that creator and feed records embed."""
    return {
        "id": user["id"],
        "name": user["name"],
        "imageUrl": f"https://images.example.com/avatars/{user['id']}.png",
    }


def _url_rules(url: str) -> list[dict]:
    return [{"type": "url", "value": url}]


#: Nested values many records share, built once and never mutated (drift and `replace`
#: replace whole top-level values): this keeps `--records 100000` fast and small.
_CONFIGURATIONS = [
    {"caseInsensitive": a, "ignoreOnlyHashFrag": b, "ignoreOnlyQueryParams": c}
    for a in (True, False)
    for b in (True, False)
    for c in (True, False)
]
#: A campaign's goals are the first 0-3 of one of these lists (goal ids are per campaign).
_GOALS = [
    [
        {
            "id": 200 + g,
            "name": f"Goal {g + 1}",
            "type": GOAL_TYPES[(g + k) % len(GOAL_TYPES)],
            "isPrimary": g == 0,
            "urls": _url_rules(f"https://www.example.com/thanks/{g + 1}"),
            "averageData": [],
        }
        for g in range(3)
    ]
    for k in range(len(GOAL_TYPES))
]
#: (number of variations, editor operation) → the variations, Control first. Each
#: variation carries the editor's operations (`editorData`), which the docs omit.
_VARIATIONS = {
    (count, op): [
        {
            "id": v + 1,
            "name": "Control" if v == 0 else f"Variation-{v}",
            "isControl": v == 0,
            "isDisabled": False,
            "percentSplit": round(100 / count, 4),
            "editorData": {"stack": [{"op": {"opName": op}}] if v else []},
        }
        for v in range(count)
    ]
    for count in (2, 3)
    for op in EDITOR_OPS
}


def _stats_pool(r: random.Random) -> list[dict]:
    """Statistics settings of test campaigns: rates come as numeric strings."""
    return [
        {
            "testingApproach": r.choice(APPROACHES),
            "expectedConversionRate": f"{r.randrange(5, 150) / 10:g}",
            "expectedImprovementRate": str(r.choice((5, 10, 15, 20))),
            "expectedRevenuePerVisitor": f"{r.randrange(0, 500) / 100:.2f}",
            "thresholdOfCaring": f"{r.choice((0.5, 1, 2)):g}",
            "expectedDailyVisitors": r.choice((500, 1000, 2500, 10_000)),
            "delayDecision": r.random() < 0.3,
            "multipleCorrection": r.random() < 0.5,
            "peekingCorrection": r.random() < 0.5,
            "pauseCampaignAfterFinalDay": r.random() < 0.2,
            "reportingVersion": r.choice((2, 3)),
            "reportingView": r.choice((1, 2)),
        }
        for _ in range(32)
    ]


class WebExperimentsAPI(SandboxAPI):
    """Synthetic web-experiments API. `records` is the number of campaigns."""

    title = "web-experiments"
    credentials: t.ClassVar[dict[str, str]] = {"api_key": "sandbox-web-experiments-key"}
    default_records = 200
    stable_fields: t.ClassVar[dict[str, tuple[str, ...]]] = {
        **dict.fromkeys(ROUTES.values(), ("id",)),
        **dict.fromkeys(UID_STREAMS, ("uid",)),
        "campaigns": ("id", "createdOn"),
    }

    def __init__(self, records: int | None = None, seed: int = 0, *, drift: bool = False) -> None:
        super().__init__(records, seed, drift=drift)
        n = self.records
        self.clock = EPOCH + 120 * DAY  # the API's "now"; new campaigns are created after it
        self._campaign_view: list[dict] | None = None
        accounts = self._accounts()
        users = self._users(7 + n // 10)
        labels = self._labels()
        self._creators = [_person(user) for user in users[:7]]
        self._label_refs = [{"id": label["id"], "name": label["name"]} for label in labels]
        self._stats = _stats_pool(rng(seed, "stats"))
        r = rng(seed, "campaigns")
        campaigns: list[dict] = []
        for i in range(n):
            campaigns.append(self._campaign(1 + i, EPOCH + r.randrange(110 * DAY), r))
        self.tables.update(
            accounts=accounts,
            accounts_feeds=self._feeds(max(1, n // 4), users, campaigns),
            users=users,
            smartcode=[self._smartcode()],
            campaigns=campaigns,
            custom_widgets=self._widgets(max(PAGE_LIMIT, n // 100 * PAGE_LIMIT), users),
            thresholds=[self._thresholds()],
            integrations=[self._integrations()],
            labels=labels,
        )

    # -- synthetic data -----------------------------------------------------------------

    def _accounts(self) -> list[dict]:
        names = ("Example Corp", "Example EU", "Example US")
        return [
            {
                "id": MAIN_ACCOUNT + i,
                "name": name,
                "createdOn": EPOCH - (400 - 90 * i) * DAY,
                "isActive": i != 2,
                "isEnabled": True,
                "isMainAccount": i == 0,
            }
            for i, name in enumerate(names)
        ]

    def _users(self, count: int) -> list[dict]:
        r = rng(self.seed, "users")
        users = []
        for i in range(count):
            created = EPOCH - r.randrange(400 * DAY)
            users.append(
                {
                    "id": 1_310_000 + 17 * i,
                    "name": words(r, 2).title(),
                    "email": email(r),
                    "account": MAIN_ACCOUNT,
                    "permission": r.choice(PERMISSIONS),
                    "title": r.choice(("Growth Lead", "Analyst", "Developer", None)),
                    "department": r.choice(DEPARTMENTS),
                    "country": r.choice(COUNTRIES),
                    "phone": r.choice((None, f"+1 555 01{r.randrange(100):02d}")),
                    "createdOn": created,
                    "lastLogin": r.choice((None, created + r.randrange(30 * DAY))),
                }
            )
        return users

    def _labels(self) -> list[dict]:
        r = rng(self.seed, "labels")
        return [{"id": 300 + i, "name": f"{r.choice(WORDS)}-{i + 1}"} for i in range(PAGE_LIMIT)]

    def _campaign(self, campaign_id: int, created_on: int, r: random.Random) -> dict:
        b = r.getrandbits(128).to_bytes(16, "little")  # one draw: 16 random bytes
        kind = CAMPAIGN_TYPES[b[0] % len(CAMPAIGN_TYPES)]
        url = f"https://www.example.com/{WORDS[b[1] % len(WORDS)]}/{campaign_id}"
        test = kind in TESTS
        goals = _GOALS[b[2] % len(GOAL_TYPES)][: 1 + b[3] % 3] if test else []
        variations = (
            _VARIATIONS[2 + (kind == "multivariate"), EDITOR_OPS[b[4] % len(EDITOR_OPS)]]
            if test
            else []
        )
        labels = self._label_refs
        return {
            "id": campaign_id,
            "name": f"Campaign {campaign_id}",
            "type": kind,
            "platform": PLATFORMS[b[5] % len(PLATFORMS)],
            "status": STATUSES[b[6] % len(STATUSES)],
            "isDeleted": b[7] < 13,
            "isApprovalPending": False,
            "isBayesian": b[7] < 230,
            "primaryUrl": url,
            "urls": _url_rules(url),
            "percentTraffic": (10, 25, 50, 100)[b[8] % 4],
            "primaryGoal": goals[0]["id"] if goals else None,
            "goals": {"offset": 0, "totalCount": len(goals), "partialCollection": goals},
            "variations": {"totalCount": len(variations), "partialCollection": variations},
            "labels": [labels[i % len(labels)] for i in b[10 : 10 + b[9] % 3]],
            "stats": self._stats[b[11] % len(self._stats)] if test else None,
            "pageGroupConfig": {
                "editorUrl": [url],
                "include": [
                    {
                        "id": b[12:16].hex(),
                        "operator": (1, 2, 11)[b[1] % 3],
                        "queryElementType": "url",
                        "rOperandValue": url,
                        "configurations": _CONFIGURATIONS[b[2] % len(_CONFIGURATIONS)],
                    }
                ],
                "exclude": [],
            },
            "associatedCampaign": [],
            "campaignGroup": [],
            "createdBy": self._creators[b[3] % len(self._creators)],
            "createdOn": created_on,
        }

    def _feeds(self, count: int, users: list[dict], campaigns: list[dict]) -> list[dict]:
        r = rng(self.seed, "feeds")
        feeds = []
        for _ in range(count):
            b = r.getrandbits(192).to_bytes(24, "little")
            campaign = campaigns[int.from_bytes(b[:4]) % len(campaigns)] if campaigns else None
            app = campaign is not None and campaign["platform"] == "mobile-app"
            feeds.append(
                {
                    "id": b[4:16].hex(),
                    "type": "campaign",
                    "verb": FEED_VERBS[b[16] % len(FEED_VERBS)],
                    "what": "campaign",
                    "when": EPOCH + int.from_bytes(b[17:21]) % (110 * DAY),
                    "who": _person(users[int.from_bytes(b[21:24]) % len(users)]),
                    "campaign": None
                    if campaign is None
                    else {
                        "id": campaign["id"],
                        "name": campaign["name"],
                        "type": campaign["type"],
                        "platform": campaign["platform"],
                        "appPlatform": ("android", "ios")[b[16] % 2] if app else None,
                        "goalId": campaign["primaryGoal"],
                    },
                }
            )
        return feeds

    def _widgets(self, count: int, users: list[dict]) -> list[dict]:
        r = rng(self.seed, "widgets")
        widgets = []
        for i in range(count):
            b = r.getrandbits(128).to_bytes(16, "little")
            created = EPOCH + int.from_bytes(b[:4]) % (100 * DAY)
            page = WORDS[b[4] % len(WORDS)]
            widgets.append(
                {
                    "id": 5000 + i,
                    "name": f"Widget {WORDS[b[5] % len(WORDS)]} {page}",
                    "description": (None, "", f"Shown on {page} pages")[b[6] % 3],
                    "type": WIDGET_TYPES[b[7] % len(WIDGET_TYPES)],
                    "createdBy": users[int.from_bytes(b[8:11]) % len(users)]["name"],
                    "createdAt": created,
                    "updatedAt": created + int.from_bytes(b[11:14]) % (10 * DAY),
                }
            )
        return widgets

    def _smartcode(self) -> dict:
        loader = f"https://cdn.example.com/tag/{MAIN_ACCOUNT}"
        return {
            "async": f'<script type="text/javascript" async src="{loader}/async.js"></script>',
            "sync": f'<script type="text/javascript" src="{loader}/sync.js"></script>',
        }

    def _thresholds(self) -> dict:
        return {
            "winningPercent": 95,
            "losingPercent": 5.5,
            "visitors": 1000,
        }

    def _integrations(self) -> dict:
        return {
            "analytics": {"enabled": True, "prefix": "EXP", "slot": 4},
            "analyticsNext": {"enabled": False, "prefix": "EXP", "dimension": 7},
            "tagManager": {"enabled": True},
            "sessionReplay": {"enabled": False},
            "isAnalyticsPremium": False,
        }

    # -- data changes (used by incremental tests) ------------------------------------------

    def new_campaigns(self, count: int = 5) -> list[dict]:
        """`count` campaigns created after `clock`; the clock moves past them."""
        r = rng(self.seed, f"new-campaigns{self.clock}")
        created = []
        with self.lock:
            campaigns = self.tables["campaigns"]
            next_id = 1 + max(
                (c["id"] for c in campaigns if isinstance(c.get("id"), int)), default=0
            )
            for i in range(count):
                self.clock += 13
                created.append(self._campaign(next_id + i, self.clock, r))
            campaigns.extend(created)
            self.clock += 1
            self.changed()
        return created

    # -- views --------------------------------------------------------------------------

    def changed(self) -> None:
        self._campaign_view = None

    def rows(self, stream: str) -> list[dict]:
        """A stream's records in the server's order (campaigns scrambled, cached)."""
        if stream != "campaigns":
            return self.tables[stream]
        if self._campaign_view is None:
            self._campaign_view = sorted(
                self.tables["campaigns"], key=lambda c: _scramble(c.get("id"))
            )
        return self._campaign_view

    # -- HTTP ---------------------------------------------------------------------------

    def authorized(self, request: Request) -> bool:
        return request.headers.get("api_key") == self.credentials["api_key"]

    def error(self, status: int, message: str) -> Response:
        return Response({"errors": [{"code": status, "message": message}]}, status)

    @route("GET", "/v1/accounts")
    @route("GET", "/v1/accounts/current/{resource}")
    def get_collection(self, request: Request, **_: str) -> Response:
        """`rows[offset : offset + limit]` of the path's stream in `_data` (see `ROUTES`);
        bad paging parameters are a 400."""
        stream = ROUTES.get(request.path)
        if stream is None:
            return self.error(404, f"No route for {request.path}")
        try:
            limit = int(request.query.get("limit", PAGE_LIMIT))
            offset = int(request.query.get("offset", 0))
        except ValueError:
            return self.error(400, "limit and offset must be integers")
        if not 1 <= limit <= PAGE_LIMIT or offset < 0:
            return self.error(400, f"limit must be 1..{PAGE_LIMIT} and offset >= 0")
        rows = self.rows(stream)
        if stream in UID_STREAMS and len(rows) == 1:  # the account's one object
            return Response({"_data": rows[0]})
        return Response({"_data": rows[offset : offset + limit]})


API = WebExperimentsAPI
