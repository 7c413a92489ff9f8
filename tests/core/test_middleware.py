"""A database outage answers 503 with Retry-After (JSON under /api/, a page elsewhere), never a
500; a bug stays a 500. The real outage (PostgreSQL stopped under every API endpoint) is in
tests/outage/test_outages.py; here the view's database call fails on either backend."""

from __future__ import annotations

import psycopg
import pytest
from django.db import IntegrityError, OperationalError
from django.test import Client

from guilds.services import create_api_key

pytestmark = pytest.mark.django_db

GUILD = 100000000000000042


def failing(exc: Exception):
    def raise_(*args, **kwargs):
        raise exc

    return raise_


def lost_connection() -> OperationalError:
    error = OperationalError("connection to server at 127.0.0.1 failed")
    error.__cause__ = psycopg.OperationalError("connection refused")  # no SQLSTATE: no server
    return error


@pytest.fixture
def api() -> Client:
    _, key = create_api_key("reader", [GUILD])
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", raise_request_exception=False)


def test_an_api_read_during_an_outage_is_a_503_with_retry_after(api, monkeypatch):
    monkeypatch.setattr("stats.selectors.totals.dashboard", failing(lost_connection()))
    response = api.get(f"/api/guilds/{GUILD}/stats/dashboard?period=week")
    assert (response.status_code, response["Retry-After"], response.json()) == (
        503,
        "5",
        {"detail": "The database is unavailable; retry shortly."},
    )


def test_a_page_during_an_outage_is_a_503_page(client, monkeypatch):
    monkeypatch.setattr("dashboard.views.render", failing(lost_connection()))
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert b"guildstats is unavailable" in response.content


def test_a_database_error_that_is_the_requests_own_fault_stays_a_500(api, monkeypatch):
    error = IntegrityError("duplicate key")
    monkeypatch.setattr("stats.selectors.totals.dashboard", failing(error))
    response = api.get(f"/api/guilds/{GUILD}/stats/dashboard?period=week")
    assert response.status_code == 500
