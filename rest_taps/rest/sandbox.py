"""Sandbox of tap-rest: a parcel-logistics API that `example.yaml` describes.

Wire protocol: `Authorization: Bearer <token>`, header `X-Api-Version: 2` and query
`lang=en` on every request (a request without them gets 400). Each resource pages its
own way:

Paths begin with `/v1/`. `/account`: one object under `account`; `/depots`: the body is
the list; `/archive`: 404 (switched off for this account).
- `/drivers` and `/regions` (`{"data": [...], "meta": {...}}`): pages of 10 chained by a
  `Link: <…>; rel="next"` header with the next page's whole URL.
- `/shipments`: `offset` / `limit` (at most 25), `meta.total` the number of shipments.
- `/shipments/{id}/parcels`: page `p` from 1, 3 a page, `page_count` the number of pages;
  a parcel's `seq` is its number within its shipment.
- `/depots/{id}/stock`: page `page` from 0, 10 a page, until an empty page; a closed
  depot answers 404.
- `/carriers`: `{"data": {"carriers": [...]}, "paging": {"after": …}}`, 5 a page,
  `after` the cursor sent back, absent on the last page.
- `/events`: records with `occurred_at >= since` (ISO 8601, UTC), oldest first, 50 a
  page, `links.next` the next page's URL relative to the API (null on the last page).

`records` is the number of shipments; every shipment has three events, a depot's stock
and the drivers are sized so that each paging style ends on a full page somewhere.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from urllib.parse import urlencode

from rest_taps.common.sandbox import Request, Response, SandboxAPI, route
from rest_taps.common.sandbox.data import EPOCH, email, pick, rng, words

TOKEN = "sandbox-rest-token"
SHIPMENT_PAGE = 25
PARCEL_PAGE = 3
STOCK_PAGE = 10
LINK_PAGE = 10
CARRIER_PAGE = 5
EVENT_PAGE = 50
DEPOTS = 6
CLOSED_DEPOT = 6  # its stock answers 404
STATUSES = ("booked", "in_transit", "delivered", "returned")
KINDS = ("picked_up", "sorted", "out_for_delivery", "delivered", "delayed")


def _iso(seconds: int) -> str:
    moment = dt.datetime.fromtimestamp(EPOCH + seconds, dt.UTC)
    return moment.isoformat().replace("+00:00", "Z")


def _int(value: t.Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class API(SandboxAPI):
    """Synthetic parcel-logistics API."""

    title = "parcel-logistics"
    credentials: t.ClassVar[dict[str, str]] = {"token": TOKEN}
    default_records = 120
    stable_fields: t.ClassVar[dict[str, tuple[str, ...]]] = {
        "parcels": ("seq",),
        "stock": ("sku",),
        "shipments": ("code",),
        "events": ("occurred_at",),
    }

    def __init__(self, records: int | None = None, seed: int = 0, *, drift: bool = False) -> None:
        super().__init__(records, seed, drift=drift)
        r = rng(seed, "logistics")
        self.tables["account"] = [
            {"id": 7001, "name": "Example Freight", "plan": {"tier": "pro", "seats": 12}}
        ]
        self.tables["depots"] = [
            {"id": d, "city": words(r, 1).title(), "open": d != CLOSED_DEPOT}
            for d in range(1, DEPOTS + 1)
        ]
        self.tables["drivers"] = [
            {"id": 500 + i, "name": words(r, 2).title(), "email": email(r), "licences": ["B"]}
            for i in range(2 * LINK_PAGE + 3)
        ]
        self.tables["regions"] = [
            {"id": f"r{i}", "name": words(r, 1).title(), "depots": [i, i + 1]} for i in range(4)
        ]
        self.tables["shipments"] = [
            {
                "id": 9000 + i,
                "code": f"SH-{9000 + i}",
                "status": pick(r, STATUSES),
                "weight_kg": round(r.uniform(0.2, 40), 2),
                "dimensions": {"l": r.randint(5, 90), "w": r.randint(5, 60)},
            }
            for i in range(self.records)
        ]
        self.tables["parcels"] = {
            s["id"]: [
                {"seq": n + 1, "barcode": f"{s['id']}-{n + 1}", "breakable": r.random() < 0.2}
                for n in range(i % 5 if i % 7 else PARCEL_PAGE * 2)
            ]
            for i, s in enumerate(self.tables["shipments"])
        }
        self.tables["stock"] = {
            d["id"]: [
                {"sku": f"SKU-{d['id']}-{k}", "quantity": r.randint(0, 500)}
                for k in range((d["id"] * 7) % 25 if d["id"] != 1 else STOCK_PAGE)
            ]
            for d in self.tables["depots"]
            if d["id"] != CLOSED_DEPOT
        }
        self.tables["carriers"] = [
            {"id": 300 + i, "name": words(r, 1).title(), "services": {"express": i % 2 == 0}}
            for i in range(3 * CARRIER_PAGE + 2)
        ]
        self.tables["events"] = []
        self.new_events(3 * self.records, r)

    def new_events(self, count: int, r: t.Any = None) -> None:
        """`count` more events, later than every event so far."""
        r = r or rng(self.seed, f"events-{len(self.tables['events'])}")
        with self.lock:
            events = self.tables["events"]
            shipments = self.tables["shipments"]
            for _ in range(count):
                n = len(events)
                events.append(
                    {
                        "id": 40_000 + n,
                        "shipment_id": shipments[n % len(shipments)]["id"] if shipments else None,
                        "kind": pick(r, KINDS),
                        "occurred_at": _iso(n * 600),
                    }
                )

    def authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    def handle(self, request: Request) -> Response:
        if request.headers.get("x-api-version") != "2" or request.query.get("lang") != "en":
            return self.error(400, "send header X-Api-Version: 2 and query lang=en")
        return super().handle(request)

    # -- routes ---------------------------------------------------------------------------

    @route("GET", "/v1/account")
    def account(self, request: Request) -> Response:
        return Response({"account": self.tables["account"][0]})

    @route("GET", "/v1/depots")
    def depots(self, request: Request) -> Response:
        return Response(self.tables["depots"])

    @route("GET", "/v1/archive")
    def archive(self, request: Request) -> Response:
        return self.error(404, "the archive is switched off for this account")

    def _linked(self, request: Request, rows: list[dict], wrap: bool) -> Response:
        page = max(_int(request.query.get("page"), 1), 1)
        chunk = rows[(page - 1) * LINK_PAGE : page * LINK_PAGE]
        headers = {}
        if page * LINK_PAGE < len(rows):
            query = urlencode({**request.query, "page": page + 1})
            host = request.headers.get("host", "127.0.0.1")
            headers["Link"] = f'<http://{host}{request.path}?{query}>; rel="next"'
        body = {"data": chunk, "meta": {"page": page}} if wrap else chunk
        return Response(body, headers=headers)

    @route("GET", "/v1/drivers")
    def drivers(self, request: Request) -> Response:
        return self._linked(request, self.tables["drivers"], wrap=False)

    @route("GET", "/v1/regions")
    def regions(self, request: Request) -> Response:
        return self._linked(request, self.tables["regions"], wrap=True)

    @route("GET", "/v1/shipments")
    def shipments(self, request: Request) -> Response:
        rows = self.tables["shipments"]
        limit = min(max(_int(request.query.get("limit"), SHIPMENT_PAGE), 1), SHIPMENT_PAGE)
        offset = max(_int(request.query.get("offset")), 0)
        return Response({"shipments": rows[offset : offset + limit], "meta": {"total": len(rows)}})

    @route("GET", "/v1/shipments/{shipment_id}/parcels")
    def parcels(self, request: Request, shipment_id: str) -> Response:
        rows = self.tables["parcels"].get(_int(shipment_id, -1))
        if rows is None:
            return self.error(404, "no such shipment")
        page = _int(request.query.get("p"), 1)
        pages = -(-len(rows) // PARCEL_PAGE)
        chunk = rows[(page - 1) * PARCEL_PAGE : page * PARCEL_PAGE] if page >= 1 else []
        return Response({"items": chunk, "page": page, "page_count": pages})

    @route("GET", "/v1/depots/{depot_id}/stock")
    def stock(self, request: Request, depot_id: str) -> Response:
        rows = self.tables["stock"].get(_int(depot_id, -1))
        if rows is None:
            return self.error(404, "depot closed")
        page = max(_int(request.query.get("page")), 0)
        return Response({"stock": rows[page * STOCK_PAGE : (page + 1) * STOCK_PAGE]})

    @route("GET", "/v1/carriers")
    def carriers(self, request: Request) -> Response:
        rows = self.tables["carriers"]
        start = _int(request.query.get("after", "c0").removeprefix("c"))
        chunk = rows[start : start + CARRIER_PAGE]
        paging = {"after": f"c{start + CARRIER_PAGE}"} if start + CARRIER_PAGE < len(rows) else {}
        return Response({"data": {"carriers": chunk}, "paging": paging})

    @route("GET", "/v1/events")
    def events(self, request: Request) -> Response:
        since = request.query.get("since", "")
        rows = [e for e in self.tables["events"] if str(e.get("occurred_at")) >= since]
        offset = max(_int(request.query.get("offset")), 0)
        chunk = rows[offset : offset + EVENT_PAGE]
        following = None
        if offset + EVENT_PAGE < len(rows):
            query = urlencode({"lang": "en", "since": since, "offset": offset + EVENT_PAGE})
            following = f"{request.path}?{query}"
        return Response({"events": chunk, "links": {"next": following}})
