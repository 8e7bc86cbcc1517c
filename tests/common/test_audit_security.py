"""Secrets in every encoding and credentials only to the API's origin, as functions."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest
import requests

from rest_taps.common import http, redaction

SECRET = "Zq8 a+b/c&d=é-audit"


@pytest.mark.parametrize(
    "form",
    [SECRET, quote(SECRET, safe=""), quote_plus(SECRET)],
    ids=["raw", "percent-encoded", "form-encoded"],
)
def test_every_encoded_form_of_a_secret_is_masked(form: str) -> None:
    redaction.install([SECRET])
    assert redaction.redact(f"GET /v1/x?token={form}&page=2") == "GET /v1/x?token=***&page=2"


def redirect(url: str, location: str) -> requests.Response:
    response = requests.Response()
    response.status_code = 302
    response.url = url
    response.headers["Location"] = location
    return response


@pytest.mark.parametrize(
    ("home", "location"),
    [
        ("https://api.example.test", "http://api.example.test/v1/items"),
        ("https://127.0.0.1:8443", "http://127.0.0.1:8443/v1/items"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8001/v1/items"),
        ("https://api.example.test", "https://api.example.test:8443/v1/items"),
    ],
    ids=["https-to-http", "https-to-http-same-port", "another-port", "another-https-port"],
)
def test_a_redirect_out_of_the_origin_is_refused(home: str, location: str) -> None:
    """Same host, but another scheme or port: the credential must not follow."""
    with pytest.raises(http.RedirectRefusedError):
        http.redirect_target(redirect(f"{home}/v1/items", location), home)


def test_a_redirect_within_the_origin_is_followed() -> None:
    home = "https://api.example.test"
    target = http.redirect_target(redirect(f"{home}/v1/items", "/v1/items?page=2"), home)
    assert target == f"{home}/v1/items?page=2"
