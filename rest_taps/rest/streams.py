"""Stream classes compiled from a `rest_api` config: one class per resource, made at run
time, each a declaration on the shared base stream like the hand-written taps' streams.

`RestStream` holds what every compiled stream does with its `Resource`: the URL from the
path and its placeholders, params, headers and body, the records at the data selector,
the incremental cursor (sent as `start_param` / `end_param`, records before it left out),
the responses to ignore, and the parent fields a child reads and carries.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t
from urllib.parse import quote

from rest_taps.common.errors import RequestFailedError, SchemaDriftError
from rest_taps.common.http import origin
from rest_taps.common.settings import parse_datetime
from rest_taps.common.streams import BaseStream
from rest_taps.rest.config import Parent, Resource, expand
from rest_taps.rest.paging import AutoPaging
from rest_taps.rest.selector import Selector, first, parse, records_jsonpath

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

    from rest_taps.rest.config import RestApi

_IGNORED = "_rest_taps_ignored"


class RestStream(BaseStream):
    """A resource of a `rest_api` config."""

    resource: t.ClassVar[Resource]
    #: `client.headers` of the config.
    client_headers: t.ClassVar[dict[str, str]] = {}
    #: Children of this resource: their parent fields make this stream's child context.
    child_resources: t.ClassVar[tuple[Resource, ...]] = ()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._records = Selector(self.resource.data_selector)  # type: ignore[assignment]

    # -- the request ------------------------------------------------------------------

    def _values(self, context: Context | None) -> dict[str, t.Any]:
        """Placeholder values: the parent's fields and the incremental's."""
        values: dict[str, t.Any] = {}
        parent = self.resource.parent
        if parent is not None and context:
            for expression, field_path in parent.fields.items():
                values[expression] = context[parent.key(field_path)]
        incremental = self.resource.incremental
        if incremental is not None:
            start = self.bookmark(context)
            values.update(
                {
                    "incremental.start_value": start,
                    "incremental.last_value": start,
                    "incremental.initial_value": incremental.initial_value,
                    "incremental.end_value": incremental.end_value,
                }
            )
        return values

    def get_url(self, context: Context | None) -> str:
        values = {k: quote(str(v), safe="") for k, v in self._values(context).items()}
        path = expand(self.resource.path, values)
        if not re.match(r"https?://", path):
            return f"{self.url_base}/{path.lstrip('/')}"
        if origin(path) != origin(self.url_base):
            msg = (
                f"Stream '{self.name}': its path {path.split('?')[0]} is on another origin than "
                "api_url; the tap sends the credential to api_url's origin only, so the run "
                "stops here."
            )
            raise RequestFailedError(msg)
        return path

    @property
    def http_headers(self) -> dict:
        return {**super().http_headers, **self.client_headers}

    def get_http_request(self, *, page: t.Any) -> t.Any:
        request = super().get_http_request(page=page)
        if self.resource.headers:
            headers = expand(self.resource.headers, self._values(page.stream_context))
            request.headers.update({k: str(v) for k, v in headers.items()})
        return request

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict:
        values = self._values(context)
        params = expand(self.resource.params, values)
        incremental = self.resource.incremental
        if incremental is not None:
            start = values["incremental.start_value"]
            if incremental.start_param and start is not None:
                params[incremental.start_param] = start
            if incremental.end_param and incremental.end_value is not None:
                params[incremental.end_param] = incremental.end_value
        return params

    def prepare_request_payload(self, context: Context | None, next_page_token: t.Any) -> t.Any:
        body = self.resource.json if self.resource.data is None else self.resource.data
        if body is None:
            return None
        return expand(body, self._values(context), keep_type=self.resource.data is None)

    # -- responses ---------------------------------------------------------------------

    def validate_response(self, response: requests.Response) -> None:
        """A response the config's `response_actions` ignore ends the resource's paging
        (as an empty page); any other goes through the base's checks."""
        for status, content in self.resource.ignore:
            if (status is None or response.status_code == status) and (
                content is None or content in response.text
            ):
                if "ignored" not in self._warned:
                    self._warned.add("ignored")
                    self.logger.info(
                        "Stream '%s': ignoring a %d response, as the config's "
                        "response_actions say.",
                        self.name,
                        response.status_code,
                    )
                response._content = b"null"
                response.__dict__[_IGNORED] = True
                return
        super().validate_response(response)

    def get_new_paginator(self) -> t.Any:
        paging = super().get_new_paginator()
        stop = paging.stop_condition

        def stop_here(response: requests.Response) -> bool:
            return bool(response.__dict__.get(_IGNORED)) or (stop is not None and stop(response))

        paging.stop_condition = stop_here
        return paging

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        if response.__dict__.get(_IGNORED):
            return []
        return super().parse_response(response)

    # -- parents and children ------------------------------------------------------------

    def get_child_context(self, record: dict, context: Context | None) -> dict:
        """The fields of `record` that this resource's children read or include."""
        child_context: dict[str, t.Any] = {}
        for child in self.child_resources:
            parent = t.cast(Parent, child.parent)
            for field_path in parent.fields.values():
                value = first(parse(field_path), record)
                if value is None:
                    msg = (
                        f"Stream '{self.name}': a record has no '{field_path}', which "
                        f"stream '{child.name}' reads; the run stops here."
                    )
                    raise SchemaDriftError(msg)
                child_context[parent.key(field_path)] = value
            for name in parent.include:
                if name not in record:
                    msg = (
                        f"Stream '{self.name}': a record has no '{name}', which stream "
                        f"'{child.name}' includes from its parent; the run stops here."
                    )
                    raise SchemaDriftError(msg)
                child_context[parent.key(name)] = record[name]
        return child_context

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """A child's records carry the parent fields it reads and includes
        (`_<parent>_<field>`)."""
        parent = self.resource.parent
        if parent is not None and context:
            for name in (*parent.fields.values(), *parent.include):
                key = parent.key(name)
                row.setdefault(key, context.get(key))
        return row

    def _process_record(
        self,
        record: dict,
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        if self.child_streams:
            super()._process_record(record, child_context, partition_context)

    # -- incremental ---------------------------------------------------------------------

    def bookmark(self, context: Context | None) -> t.Any:
        """Where this run starts: the bookmark, else the later of `initial_value` and
        `start_date` (as a value of the cursor's kind)."""
        incremental = self.resource.incremental
        if incremental is None:
            return None
        state = self.get_starting_replication_key_value(context)
        start = self._start_value()
        candidates = [v for v in (self._cursor_value(state), start) if v is not None]
        return self._latest(candidates)

    def compare_start_date(self, value: str, start_date_value: str) -> t.Any:
        return value

    def _start_value(self) -> t.Any:
        initial = t.cast(t.Any, self.resource.incremental).initial_value
        start_date = self.config.get("start_date")
        if not start_date:
            return initial
        start = self._from_datetime(parse_datetime(str(start_date)), like=initial)
        return self._latest([v for v in (initial, start) if v is not None])

    def _cursor_value(self, value: t.Any) -> t.Any:
        """A state value as a cursor value (a date-time string for a numeric cursor is
        converted; the SDK may keep `start_date` in the state)."""
        initial = t.cast(t.Any, self.resource.incremental).initial_value
        if isinstance(value, str) and self._numeric(initial):
            try:
                return self._from_datetime(parse_datetime(value), like=initial)
            except ValueError:
                return value
        return value

    def _numeric(self, initial: t.Any) -> bool:
        if initial is not None:
            return isinstance(initial, int | float) and not isinstance(initial, bool)
        schema = self.schema.get("properties", {}).get(self.replication_key or "", {})
        kinds = schema.get("type", [])
        kinds = [kinds] if isinstance(kinds, str) else kinds
        return bool({"integer", "number"} & set(kinds))

    def _from_datetime(self, moment: dt.datetime, like: t.Any) -> t.Any:
        """`moment` in the form of `like` (Unix seconds, a date, an ISO date-time)."""
        if self._numeric(like):
            return moment.timestamp() if isinstance(like, float) else int(moment.timestamp())
        if isinstance(like, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", like):
            return moment.date().isoformat()
        text = moment.astimezone(dt.UTC).isoformat()
        if isinstance(like, str) and like.endswith("Z"):
            text = text.replace("+00:00", "Z")
        if isinstance(like, str) and len(like) > 10 and like[10] == " ":
            text = text.replace("T", " ", 1)
        return text

    @staticmethod
    def _latest(values: list[t.Any]) -> t.Any:
        if not values:
            return None
        try:
            return max(values)
        except TypeError:  # values of different kinds: the bookmark (first) wins
            return values[0]

    def _below_floor(self, record: dict) -> bool:
        """Records before the cursor's start, or at or after its `end_value`, are left
        out."""
        end = t.cast(t.Any, self.resource.incremental).end_value
        value = record.get(self.replication_key)  # type: ignore[arg-type]
        try:
            if end is not None and value is not None and value >= end:
                return True
        except TypeError:
            return False
        return super()._below_floor(record)


def _class_name(name: str) -> str:
    words = re.split(r"[^0-9A-Za-z]+", name)
    text = "".join(w[:1].upper() + w[1:] for w in words if w) or "Resource"
    return f"{text}Stream" if text[0].isalpha() else f"Stream{text}"


def _declared(resource: Resource) -> dict:
    """What a config says of a resource's schema: its keys (an id may come as a number or
    as a numeric string: the same key) and its cursor (of `initial_value`'s type). The
    rest is learned from the API: discovery's sample, then runtime evolution."""
    properties = {key: {"type": ["integer", "string"]} for key in resource.primary_key}
    incremental = resource.incremental
    if incremental is not None and incremental.initial_value is not None:
        kind = {bool: "boolean", int: "integer", float: "number"}.get(
            type(incremental.initial_value), "string"
        )
        properties[incremental.cursor_path] = {"type": [kind, "null"]}
    return {"type": "object", "properties": properties}


def stream_types(api: RestApi) -> list[type[RestStream]]:
    """One stream class per resource, parents before their children."""
    made: dict[str, type[RestStream]] = {}
    for resource in api.resources:
        children = tuple(
            r for r in api.resources if r.parent is not None and r.parent.resource == resource.name
        )
        incremental = resource.incremental
        attributes: dict[str, t.Any] = {
            "__doc__": f"Resource '{resource.name}': {resource.method} {resource.path}.",
            "__module__": __name__,
            "name": resource.name,
            "path": resource.path,
            "http_method": resource.method,
            "payload_as_json": resource.data is None,
            "primary_keys": resource.primary_key,
            "replication_key": incremental.cursor_path if incremental else None,
            "client_side_filter": incremental is not None,
            "newest_first": bool(incremental and incremental.newest_first),
            "is_sorted": bool(incremental and incremental.oldest_first),
            "paginator": resource.paginator or AutoPaging(),
            "records_jsonpath": records_jsonpath(resource.data_selector),
            "resource": resource,
            "client_headers": api.headers,
            "child_resources": children,
            "selected_by_default": resource.selected,
            "schema": _declared(resource),
        }
        if resource.parent is not None:
            attributes["parent_stream_type"] = made[resource.parent.resource]
        made[resource.name] = t.cast(
            type[RestStream], type(_class_name(resource.name), (RestStream,), attributes)
        )
    return list(made.values())
