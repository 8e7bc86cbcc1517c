"""Sandbox of the web-experiments API (seed 001, CONTRACT.md section 001).

Header `api_key`; every list endpoint pages with `limit` (at most 50) and `offset` from 0
and returns `{"_data": [...]}`; a page shorter than `limit` is the last, and a collection
whose size is an exact multiple of 50 ends with one empty page. Campaigns come in no
particular order (not by `id`, not by `createdOn`) and there is no server-side time
filter. Errors are `{"errors": [{"code": …, "message": …}]}`.

Volumes: `records` is the number of campaigns; `custom_widgets` is always a positive
multiple of 50 (and so is `campaigns` at the default 200), so every run exercises the
"exactly full last page" case; `labels` is exactly one full page.
"""

from __future__ import annotations

import typing as t

from taps.common.sandbox import Request, Response, SandboxAPI, route
from taps.common.sandbox.data import EPOCH, email, rng, uid, words

DAY = 86_400
PAGE_LIMIT = 50
CAMPAIGN_TYPES = ("ab", "split", "multivariate", "heatmap", "survey")
CAMPAIGN_STATUSES = ("running", "paused", "draft", "stopped")
PLATFORMS = ("website", "mobile-app", "server-side")
ROLES = ("admin", "manager", "developer", "viewer")
COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "grey")
PROVIDERS = ("google-analytics", "segment", "mixpanel", "amplitude", "slack", "hotjar")
METRICS = ("conversion_rate", "bounce_rate", "revenue_per_visitor", "visitors")
OPERATORS = ("gt", "gte", "lt", "lte")
WIDGET_TYPES = ("banner", "popup", "slide-in", "sticky-bar", "form")

#: Paths of the plain collections (path → attribute); campaigns have their own route.
COLLECTIONS = {
    "/v1/accounts": "accounts",
    "/v1/accounts/current/feeds": "feeds",
    "/v1/accounts/current/users": "users",
    "/v1/accounts/current/smartcode": "smartcode",
    "/v1/accounts/current/changesets": "changesets",
    "/v1/accounts/current/thresholds": "thresholds",
    "/v1/accounts/current/integrations": "integrations",
    "/v1/accounts/current/labels": "labels",
}


def _scramble(campaign_id: int) -> int:
    """The server's internal order of campaigns: stable, but neither by id nor by time."""
    return (campaign_id * 2_654_435_761) % 4_294_967_291


class WebExperimentsAPI(SandboxAPI):
    """Synthetic web-experiments API. `records` is the number of campaigns."""

    title = "web-experiments"
    credentials: t.ClassVar[dict[str, str]] = {"api_key": "sandbox-web-experiments-key"}
    default_records = 200

    def __init__(self, records: int | None = None, seed: int = 0) -> None:
        super().__init__(records, seed)
        n = self.records
        self.clock = EPOCH + 120 * DAY  # the API's "now"; new campaigns are created after it
        self._campaign_view: list[dict] | None = None
        self.accounts = [
            {
                "id": 100 + i,
                "name": name,
                "type": "main" if i == 0 else "sub",
                "parentAccountId": None if i == 0 else 100,
                "timezone": tz,
                "createdOn": EPOCH - (30 - i) * DAY,
            }
            for i, (name, tz) in enumerate(
                [("Example Corp", "UTC"), ("Example EU", "Europe/Berlin"), ("Example US", None)]
            )
        ]
        r = rng(seed, "feeds")
        self.feeds = [
            {
                "id": 1 + i,
                "title": f"Feed {words(r, 2)}",
                "url": f"https://feeds.example.com/{i + 1}.xml",
                "isActive": r.random() > 0.3,
                "createdOn": EPOCH + r.randrange(90 * DAY),
            }
            for i in range(max(1, n // 4))
        ]
        r = rng(seed, "users")
        self.users = [
            {
                "id": 1 + i,
                "name": words(r, 2).title(),
                "email": email(r),
                "role": r.choice(ROLES),
                "status": r.choice(("active", "active", "invited", "disabled")),
                "lastLoginOn": r.choice((None, EPOCH + r.randrange(110 * DAY))),
                "createdOn": EPOCH - r.randrange(400 * DAY),
            }
            for i in range(7 + n // 10)
        ]
        r = rng(seed, "smartcode")
        self.smartcode = [
            {
                "uid": uid(r),
                "accountId": account["id"],
                "domain": f"www.example-{i + 1}.com",
                "type": r.choice(("async", "sync")),
                "version": f"{r.randrange(1, 4)}.{r.randrange(10)}",
                "code": f"<script>window._we_settings={{account:{account['id']}}}</script>",
                "updatedOn": EPOCH + r.randrange(100 * DAY),
            }
            for i, account in enumerate(self.accounts)
        ]
        r = rng(seed, "labels")
        self.labels = [
            {
                "id": 300 + i,
                "name": f"{words(r, 1)}-{i + 1}",
                "color": r.choice(COLORS),
                "createdOn": EPOCH + r.randrange(30 * DAY),
            }
            for i in range(PAGE_LIMIT)
        ]
        r = rng(seed, "campaigns")
        self.campaigns: list[dict] = []
        for _ in range(n):
            self.campaigns.append(self._campaign(EPOCH + r.randrange(110 * DAY), r))
        r = rng(seed, "changesets")
        self.changesets = [
            {
                "id": 5000 + i,
                "name": f"Widget {words(r, 2)}",
                "widgetType": r.choice(WIDGET_TYPES),
                "campaignId": r.choice((None, 1 + r.randrange(max(1, n)))),
                "status": r.choice(("published", "draft", "archived")),
                "createdOn": EPOCH + r.randrange(100 * DAY),
                "updatedOn": r.choice((None, EPOCH + 100 * DAY + r.randrange(10 * DAY))),
            }
            for i in range(max(PAGE_LIMIT, n // 100 * PAGE_LIMIT))
        ]
        r = rng(seed, "thresholds")
        self.thresholds = [
            {
                "uid": uid(r),
                "name": f"{metric} {operator}",
                "metric": metric,
                "operator": operator,
                "value": round(r.uniform(0.5, 95.0), 2),
                "enabled": r.random() > 0.2,
                "createdOn": EPOCH + r.randrange(60 * DAY),
            }
            for metric in METRICS
            for operator in OPERATORS[:3]
        ]
        r = rng(seed, "integrations")
        self.integrations = [
            {
                "uid": uid(r),
                "name": provider.replace("-", " ").title(),
                "provider": provider,
                "enabled": r.random() > 0.25,
                "accountId": r.choice(self.accounts)["id"],
                "createdOn": EPOCH + r.randrange(60 * DAY),
            }
            for provider in PROVIDERS
        ]

    # -- data changes (used by incremental tests) ------------------------------------------

    def _campaign(self, created_on: int, r: t.Any) -> dict:
        campaign_id = 1 + len(self.campaigns)
        return {
            "id": campaign_id,
            "name": f"Campaign {words(r, 3)}",
            "type": r.choice(CAMPAIGN_TYPES),
            "status": r.choice(CAMPAIGN_STATUSES),
            "platform": r.choice(PLATFORMS),
            "primaryUrl": f"https://www.example.com/{words(r, 1)}/{campaign_id}",
            "percentTraffic": r.choice((10, 25, 50, 100)),
            "labels": sorted(r.sample(range(300, 300 + PAGE_LIMIT), r.randrange(3))),
            "createdBy": r.choice((None, 1, 2, 3)),
            "createdOn": created_on,
        }

    def new_campaigns(self, count: int = 5) -> list[dict]:
        """`count` campaigns created after `clock`; the clock moves past them."""
        r = rng(self.seed, f"new-campaigns{self.clock}")
        created = []
        with self.lock:
            for _ in range(count):
                self.clock += 13
                created.append(self._campaign(self.clock, r))
                self.campaigns.append(created[-1])
            self.clock += 1
            self._campaign_view = None
        return created

    # -- views --------------------------------------------------------------------------

    def campaign_view(self) -> list[dict]:
        """Campaigns in the server's order (cached until the data changes)."""
        if self._campaign_view is None:
            self._campaign_view = sorted(self.campaigns, key=lambda c: _scramble(c["id"]))
        return self._campaign_view

    def expected_counts(self) -> dict[str, int]:
        return {
            "accounts": len(self.accounts),
            "accounts_feeds": len(self.feeds),
            "users": len(self.users),
            "smartcode": len(self.smartcode),
            "campaigns": len(self.campaigns),
            "custom_widgets": len(self.changesets),
            "thresholds": len(self.thresholds),
            "integrations": len(self.integrations),
            "labels": len(self.labels),
        }

    # -- HTTP ---------------------------------------------------------------------------

    def authorized(self, request: Request) -> bool:
        return request.headers.get("api_key") == self.credentials["api_key"]

    def error(self, status: int, message: str) -> Response:
        return Response({"errors": [{"code": status, "message": message}]}, status)

    def page(self, request: Request, rows: list[dict]) -> Response:
        """`rows[offset : offset + limit]` in `_data`; bad paging parameters are a 400."""
        try:
            limit = int(request.query.get("limit", PAGE_LIMIT))
            offset = int(request.query.get("offset", 0))
        except ValueError:
            return self.error(400, "limit and offset must be integers")
        if not 1 <= limit <= PAGE_LIMIT or offset < 0:
            return self.error(400, f"limit must be 1..{PAGE_LIMIT} and offset >= 0")
        return Response({"_data": rows[offset : offset + limit]})

    @route("GET", "/v1/accounts/current/campaigns")
    def get_campaigns(self, request: Request) -> Response:
        return self.page(request, self.campaign_view())

    @route("GET", "/v1/accounts")
    @route("GET", "/v1/accounts/current/feeds")
    @route("GET", "/v1/accounts/current/users")
    @route("GET", "/v1/accounts/current/smartcode")
    @route("GET", "/v1/accounts/current/changesets")
    @route("GET", "/v1/accounts/current/thresholds")
    @route("GET", "/v1/accounts/current/integrations")
    @route("GET", "/v1/accounts/current/labels")
    def get_collection(self, request: Request) -> Response:
        return self.page(request, getattr(self, COLLECTIONS[request.path]))


API = WebExperimentsAPI
