"""The five APIs' `rest_api` configs (rest_taps/rest/examples/, as written for the config
format) run through tap-rest against each API's sandbox: every stream a config expresses
sends the same records, by key, as the hand-written tap.

`NOT_EXPRESSED` lists, per API, the streams a config does not describe as the API works,
and why (rest_taps/rest/README.md says the same). `CORRECTED` then shows that where the
config only misdescribes the API, a corrected config makes tap-rest read it: the
difference is the config, not the tap.
"""

from __future__ import annotations

import copy
import json
import typing as t
from pathlib import Path

import pytest

from rest_taps.common import times
from rest_taps.common.deletions import DELETED_AT
from rest_taps.common.keys import KeyForms, conversion
from rest_taps.common.sandbox import SandboxServer
from rest_taps.rest.tap import TapRest
from tests.support import api_class, config_for, sync
from tests.support import tap_class as get_tap_class

EXAMPLES = Path(__file__).resolve().parents[2] / "rest_taps" / "rest" / "examples"
#: tap-rest's credential setting → the API's credential (as its sandbox names it).
SECRETS = {
    "pipeline_crm": {"api_key": "api_token"},
    "web_experiments": {"api_key": "api_key"},
    "customer_messaging": {"token": "access_token"},
    "crm_helpdesk": {"username": "email", "password": "api_key"},
    "error_tracking": {"api_key": "api_key"},
}
RECENTS = (
    "the shared /v1/recents path needs items=<type> and since_timestamp, which the config omits"
)
TEMPLATE = "its parent is named in a template syntax ({{ … }}) that the format reads literally"
NOT_EXPRESSED: dict[str, dict[str, str]] = {
    "pipeline_crm": {
        **dict.fromkeys(
            (
                "deals",
                "files",
                "filters",
                "notes",
                "activities",
                "persons",
                "pipelines",
                "products",
                "stages",
                "users",
            ),
            RECENTS,
        ),
        "mail": TEMPLATE,
        "deal_products": TEMPLATE,
        "mailThreads": "the API needs folder=inbox, which the config omits",
    },
    "web_experiments": dict.fromkeys(
        ("smartcode", "thresholds", "integrations"),
        "one settings object without the config's primary key id (the tap makes a uid)",
    ),
    "customer_messaging": {
        "activity_logs": "the API needs created_at_after, which the config omits",
        **dict.fromkeys(
            ("contacts", "conversations", "tickets"),
            "the search body is under 'body' (the format's key is 'json') and templated",
        ),
        **dict.fromkeys(
            ("company_attributes", "contact_attributes"),
            "keyed by name, but the config's primary key is id",
        ),
        "conversation_parts": TEMPLATE,
        "company_segments": TEMPLATE,
        "companies": "a 'custom' paginator is Python code",
        "segments": "the cursor is at pages.next, the config keeps the default cursor_path",
    },
    "crm_helpdesk": dict.fromkeys(
        ("contacts", "companies", "deals", "campaigns"),
        "the cursor is in the page's last record; the config keeps the default cursor_path",
    ),
    "error_tracking": {
        **dict.fromkeys(
            ("items", "occurrences", "deploys", "environments", "rql_jobs"),
            "page_number without base_page starts at page 0; the API's first page is 1",
        ),
        "items_metrics": "the API needs a body with start_time and end_time",
    },
}


def _error_tracking_pages(config: dict) -> None:
    for resource in config["resources"]:
        paginator = resource["endpoint"].get("paginator")
        if paginator:
            paginator["base_page"] = 1


def _crm_helpdesk_cursor(config: dict) -> None:
    for resource in config["resources"]:
        endpoint = resource["endpoint"]
        if endpoint.get("paginator"):
            endpoint["paginator"] = {
                "type": "cursor",
                "cursor_path": "data[-1].cursor",
                "cursor_param": "cursor",
            }
            endpoint["params"] = {"page_size": 100}


def _pipeline_crm_children(config: dict) -> None:
    for resource in config["resources"]:
        path = resource["endpoint"]["path"]
        resource["endpoint"]["path"] = path.replace(
            "{{ stream_partition.thread_id }}", "{resources.mailThreads.id}"
        ).replace("{{ stream_slice.parent_id }}", "{resources.deals.id}")
        if resource["name"] == "mailThreads":
            resource["endpoint"]["params"] = {"folder": "inbox"}


#: API → (streams the correction makes expressed, the correction).
CORRECTED: dict[str, tuple[tuple[str, ...], t.Callable[[dict], None]]] = {
    "error_tracking": (
        ("items", "occurrences", "deploys", "environments", "rql_jobs"),
        _error_tracking_pages,
    ),
    "crm_helpdesk": (("contacts", "companies", "deals", "campaigns"), _crm_helpdesk_cursor),
    "pipeline_crm": (("mailThreads", "mail"), _pipeline_crm_children),
}


#: Sandbox sizes where paging goes past one page (the pipeline CRM's pages hold 100).
RECORDS = {"pipeline_crm": 450}
#: API → fields of its records that are paging metadata, which the hand-written tap drops
#: and a config cannot name (tap-rest keeps them, as the format does).
PAGING_FIELDS = {"crm_helpdesk": ("cursor",)}
#: Child stream → (the hand-written tap's parent key, tap-rest's: `_<parent>_<field>`).
PARENT_KEYS = {"mail": ("thread_id", "_mailThreads_id")}


def merged(value: t.Any) -> t.Any:
    """`value` with variant properties (`<name>__v_<type>`) back under their name, and
    without nulls: where schema evolution puts a value depends on the schema (and a null
    the schema does not declare is left out, as absent), the value itself does not."""
    if isinstance(value, dict):
        return {
            key.split("__v_")[0]: merged(inner) for key, inner in value.items() if inner is not None
        }
    if isinstance(value, list):
        return [merged(v) for v in value]
    return value


def by_key(records: list[dict], keys: list[str]) -> dict[str, dict]:
    return {json.dumps([str(r.get(k)) for k in keys]): merged(r) for r in records}


def typed_as(schema: dict, keys: list[str]) -> t.Callable[[dict], dict]:
    """A tap-rest record as the hand-written tap's schema types it: the times it declares
    as RFC 3339 in UTC, its key values in their declared form. (A config's records keep
    the API's own forms: it declares no time and no key type.)"""
    convert = times.Converter(schema).function
    properties = schema.get("properties", {})
    found = (conversion(k, properties[k]) for k in keys if k in properties)
    forms = KeyForms("", [c for c in found if c is not None])

    def typed(record: dict) -> dict:
        record = merged(record)
        if convert is not None:
            convert(record)
        forms.conform(record)
        return record

    return typed


def compare(package: str, config: dict, streams: t.Collection[str]) -> None:
    """tap-rest with `config` sends what the hand-written tap sends, stream by stream."""
    with SandboxServer(api_class(package)(records=RECORDS.get(package, 40))).start() as server:
        hand = sync(get_tap_class(package), config_for(server), streams=streams)
        config = {
            **config,
            "resources": [r for r in config["resources"] if r["name"] in streams],
        }
        credentials = {k: server.api.credentials[v] for k, v in SECRETS[package].items()}
        rest = sync(
            TapRest,
            {"rest_api": config, "api_url": server.url, "backoff_factor": 0, **credentials},
            discover=True,
        )
    keys = {m["stream"]: m["key_properties"] for m in hand.messages if m["type"] == "SCHEMA"}
    schemas = {m["stream"]: m["schema"] for m in hand.messages if m["type"] == "SCHEMA"}
    for stream in streams:
        expected = by_key(hand.records(stream), keys[stream])
        typed = typed_as(schemas[stream], keys[stream])
        got = by_key([typed(r) for r in rest.records(stream)], keys[stream])
        assert expected, f"{package}.{stream}: the hand-written tap sent nothing"
        assert got.keys() == expected.keys(), f"{package}.{stream}: other keys"
        hand_parent, rest_parent = PARENT_KEYS.get(stream, ("", ""))
        for key, record in expected.items():
            assert got[key].pop(rest_parent, None) == record.pop(hand_parent, None)
            for name in PAGING_FIELDS.get(package, ()):
                got[key].pop(name, None)
            record.pop(DELETED_AT, None)  # a config declares no deleted items
            assert got[key] == record, f"{package}.{stream} {key}: another record"


def spec(package: str) -> dict:
    return json.loads((EXAMPLES / f"{package}.json").read_text())


@pytest.mark.parametrize("package", list(SECRETS))
def test_a_spec_config_reads_what_the_hand_written_tap_reads(package: str) -> None:
    config = spec(package)
    names = [r["name"] for r in config["resources"]]
    expressed = [n for n in names if n not in NOT_EXPRESSED[package]]
    assert set(NOT_EXPRESSED[package]) <= set(names)
    compare(package, config, expressed)


@pytest.mark.parametrize("package", list(CORRECTED))
def test_a_corrected_config_reads_the_rest(package: str) -> None:
    streams, correct = CORRECTED[package]
    config = copy.deepcopy(spec(package))
    correct(config)
    compare(package, config, streams)
