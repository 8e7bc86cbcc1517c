"""The promises of a serial run, held at full concurrency with faults injected.

Every test runs a tap with its default settings (streams at the same time, pages read
ahead, children fetched ahead, discovery sampling the API when there is no catalog)
against a sandbox that injects the fault, and counts requests as the sandbox saw them:

- `max_retries` bounds the attempts of a request, however many parts of the tap want its
  answer (discovery's sample of a first page and the sync's read of it are one request);
- a rejected credential costs one request (the first request of a run goes out alone);
- no request leaves after the API said its quota is spent, until its reset;
- a child stream's drifting records pass the SDK's suite like a top-level stream's.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from singer_sdk.testing import get_tap_test_class

from rest_taps.common import settings
from rest_taps.common.sandbox import SandboxServer
from tests.support import api_class, available_taps, config_for, sync, tap_class

#: A top-level stream's path in each tap (not its discovery probe: any stream's).
ENDPOINTS = {
    "pipeline_crm": "/v1/roles",
    "web_experiments": "/v1/accounts/current/thresholds",
    "customer_messaging": "/v1/teams",
    "crm_helpdesk": "/v1/tasks",
    "error_tracking": "/v1/environments",
}
#: Sandbox latency where a test needs requests to overlap.
LATENCY_MS = 20


def asked(server: SandboxServer) -> Counter[str]:
    """How often each request (method, path, query, body) reached the sandbox."""
    return Counter(
        json.dumps([r.method, r.path, r.query, r.body], sort_keys=True) for r in server.requests
    )


# -- the retry budget ------------------------------------------------------------------------


@pytest.mark.parametrize("package", list(ENDPOINTS))
def test_a_permanent_500_is_asked_max_retries_plus_one_times_in_all(
    package: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Discovery's sample of the first page is the first of the 4 attempts."""
    path = ENDPOINTS[package]
    with SandboxServer(api_class(package)(records=20)) as server:
        server.inject(path, status=500, times=-1)
        with pytest.raises(SystemExit):
            sync(tap_class(package), config_for(server), discover=True)
        attempts = len(server.requests_to(path))
    assert attempts == 4, f"{path} was asked {attempts} times; max_retries 3 allows 4"
    assert f"{path} failed after 4 attempts" in caplog.text


@pytest.mark.parametrize("package", list(ENDPOINTS))
def test_a_sample_that_failed_once_is_retried_by_the_sync_not_asked_afresh(package: str) -> None:
    """max_retries 1: the sample's failed attempt and one retry; the data arrives whole."""
    path = ENDPOINTS[package]
    with SandboxServer(api_class(package)(records=20)) as server:
        server.inject(path, status=503, times=1)
        result = sync(tap_class(package), config_for(server, max_retries=1), discover=True)
        assert result.counts == server.api.expected_counts()
        repeated = [(json.loads(request)[1], n) for request, n in asked(server).items() if n > 1]
    assert repeated == [(path, 2)], "the failed request was asked once more, and no other"


# -- a rejected credential -------------------------------------------------------------------


def wrong_credential(server: SandboxServer) -> dict:
    """The sandbox's credentials with the secret one changed (an e-mail stays right)."""
    names = list(server.api.credentials)
    secret = names[-1]
    return {**config_for(server), secret: "not-the-" + secret}


@pytest.mark.parametrize("discover", [True, False], ids=["discovering", "with-catalog"])
@pytest.mark.parametrize("package", available_taps())
def test_a_rejected_credential_costs_one_request(
    package: str, discover: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """With a little latency, every stream would have sent its first request before the
    first refusal came back."""
    with SandboxServer(api_class(package)(records=20), latency_ms=LATENCY_MS) as server:
        with pytest.raises(SystemExit):
            sync(tap_class(package), wrong_credential(server), discover=discover)
        sent = [f"{r.method} {r.path}" for r in server.requests]
    assert len(sent) == 1, f"{len(sent)} requests with a rejected credential: {sent[:5]}"
    assert "the credential was rejected" in caplog.text


@pytest.mark.parametrize("package", ["pipeline_crm", "customer_messaging"])
def test_a_403_on_every_path_is_one_request(package: str) -> None:
    with SandboxServer(api_class(package)(records=20), latency_ms=LATENCY_MS) as server:
        server.inject("*", status=403, times=-1)
        with pytest.raises(SystemExit):
            sync(tap_class(package), config_for(server), discover=True)
        assert len(server.requests) == 1


# -- the rate gate ---------------------------------------------------------------------------

#: A quota another client spent: `Remaining: 0` out of the blue, until `Reset`.
SPENT = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "{reset}"}


def test_no_request_leaves_after_a_spent_quota_until_its_reset() -> None:
    """Whenever all `max_concurrent_requests` of the tap are at the sandbox at once, it
    answers one of them with `Remaining: 0`, and holds every other answer until `Reset`.
    Every request the tap sent before it read the 0 takes a request slot until it is
    answered, so the sandbox holds at most one fewer than the slots; one more would have
    left after the 0 was known. Six times a sync, in two syncs: when a request passed
    the gate before it had a slot, a third of the holds caught one sent after the 0."""
    tap_cls = tap_class("customer_messaging")
    slots = int(settings.number({}, "max_concurrent_requests"))
    held: list[int] = []
    for _ in range(2):
        # windows of 1 s: every answer after a hold belongs to a window reset after it
        api = api_class("customer_messaging")(rate_limit=(10**6, 1))
        with SandboxServer(api, latency_ms=50) as server:
            spent = [
                server.inject("*", "spent", busy=slots - 1, skip=skip, delay=0.05, headers=SPENT)
                for skip in range(0, 240, 40)
            ]
            result = sync(tap_cls, config_for(server))
        assert result.counts == server.api.expected_counts()
        held += [fault.held for fault in spent if fault.hits]
    assert len(held) >= 6, f"the tap had all its requests at the sandbox {len(held)} times"
    assert max(held) < slots, f"requests held until each Reset: {held}"


# -- a child stream's drift in the SDK's suite -----------------------------------------------


def child_drift_config() -> dict:
    """A pipeline-crm sandbox, served for the test session, whose deals' first page is as
    usual, while the products of its later deals carry a new object (`warranty`): drift
    the SDK suite's record window holds, as the same property on those deals would."""
    api = api_class("pipeline_crm")()
    first_page = api.parents("deals")[:50]  # the deals stream's first page holds 50
    for deal in first_page[25:]:
        for product in api.tables["deal_products"].get(deal, []):
            product["warranty"] = {"months": 24, "terms": "parts and labour"}
    return config_for(SandboxServer(api).start())


TestChildStreamDrift = get_tap_test_class(
    tap_class("pipeline_crm"),
    config=child_drift_config(),
    include_tap_tests=False,
    include_stream_attribute_tests=False,
)
