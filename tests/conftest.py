"""Shared fixtures. The same suite runs on SQLite and, with DATABASE_URL/REDIS_URL, on
PostgreSQL + Redis; tests marked ``postgres`` or ``redis`` only run where those are configured."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from config.celery import app as celery_app
from guilds.services import create_bot_token
from tests.outage.stack import Stack, StackUnavailable


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    engine = django_settings.DATABASES["default"]["ENGINE"]
    on_postgres = "postgresql" in engine
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL=postgres://…"))
        if "redis" in item.keywords and not django_settings.REDIS_URL:
            item.add_marker(pytest.mark.skip(reason="needs REDIS_URL"))


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    """Tasks run inline (after commit) unless a test starts a real worker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def bot_token(db: None) -> str:
    _row, token = create_bot_token("test bot")
    return token


@pytest.fixture
def ingest(bot_token: str) -> Any:
    """POST a list of events (or raw body) to the HTTP ingest; returns (status, json)."""
    client = Client()

    def send(events: Any, *, token: str | None = bot_token, raw: bytes | None = None) -> Any:
        body = raw if raw is not None else msgspec.json.encode(events)
        headers = {"HTTP_AUTHORIZATION": f"Bot {token}"} if token else {}
        response = client.post(
            "/api/ingest/events", data=body, content_type="application/json", **headers
        )
        return response.status_code, response.json()

    return send


@pytest.fixture
def guildstats_settings(settings: Any) -> Any:
    """Override product settings (GUILDSTATS dict) for one test: ``guildstats_settings(KEY=v)``."""

    def override(**values: Any) -> None:
        settings.GUILDSTATS = {**settings.GUILDSTATS, **values}

    return override


@pytest.fixture
def wide_retention(guildstats_settings: Any) -> None:
    """Tests pinned to a past time origin send old timestamps: accept them at ingest."""
    guildstats_settings(RAW_RETENTION_DAYS=100_000)


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """API answers are cached (Redis in the PostgreSQL suite): every test starts cold."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def consumer_connections_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Channels' communicators turn ``channels.db.close_old_connections`` into a no-op (so that
    a Django ``TestCase`` keeps its one connection), so every consumer thread kept the pooled
    connection it took, and a run of WebSocket tests on PostgreSQL drained the pool (the next
    frame got "storage unavailable"). For transactional tests: return them as a server does."""
    from channels.db import DatabaseSyncToAsync
    from django.db import close_old_connections

    thread_handler = DatabaseSyncToAsync.thread_handler

    def returning(self: Any, loop: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return thread_handler(self, loop, *args, **kwargs)
        finally:
            close_old_connections()

    monkeypatch.setattr(DatabaseSyncToAsync, "thread_handler", returning)


# The private stack of the outage and collector end-to-end tests (``tests/outage/stack.py``),
# started once per session on first use and shared by both folders.
@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    try:
        running = Stack()
    except StackUnavailable as exc:
        pytest.skip(str(exc))
    try:
        running.start()
    except Exception as exc:
        logs = "\n".join(
            f"--- {name} ---\n{running.tail(name)}" for name in ("web", "worker", "beat")
        )
        running.close()
        pytest.fail(f"the outage stack did not start: {exc}\n{logs}")
    except BaseException:
        running.close()
        raise
    try:
        yield running
    finally:
        running.close()
