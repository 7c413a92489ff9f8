"""Fixtures of the dashboard tests: a guild with a little of everything, the people who may (or
may not) see it, and, for the browser tests, a real ASGI server (uvicorn, HTTP and WebSocket)
in a thread of the test process and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from guilds.models import Guild, GuildAccess
from stats.rollups.fill import fill_snapshots
from tests.factories import (
    ban,
    invite_create,
    invite_use,
    member_add,
    member_remove,
    message,
    ms,
    reaction,
    voice_join,
    voice_leave,
)

GUILD = "710000000000000001"
OTHER = "710000000000000002"
OWNER = "1999"
ALICE, BOB, CAROL, DAVE, MOD = "1001", "1002", "1003", "1004", "1005"
CHANNEL, VOICE = "2001", "2002"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(django_settings.VAR_DIR) / "screenshots"


def ago(**delta: float) -> int:
    return ms(timezone.now() - timedelta(**delta))


def activity_events(guild: str = GUILD) -> list[dict[str, Any]]:
    """Activity today, in the previous days and weeks; joins, leaves, invites and cases."""
    events = [
        message(guild, ALICE, CHANNEL, ago(minutes=20)),
        message(guild, ALICE, CHANNEL, ago(hours=2)),
        message(guild, BOB, CHANNEL, ago(hours=3)),
        message(guild, CAROL, CHANNEL, ago(days=1, minutes=5)),
        message(guild, CAROL, CHANNEL, ago(days=2)),
        message(guild, DAVE, CHANNEL, ago(days=9)),
        message(guild, DAVE, CHANNEL, ago(days=10)),
        message(guild, ALICE, CHANNEL, ago(days=13)),
        voice_join(guild, BOB, VOICE, ago(hours=5)),
        voice_leave(guild, BOB, VOICE, ago(hours=4, minutes=20)),
        reaction(guild, BOB, ALICE, ago(hours=4), channel=CHANNEL),
        reaction(guild, CAROL, ALICE, ago(days=8), channel=CHANNEL),
        invite_create(guild, "abc", ALICE, ago(days=12)),
        member_add(guild, CAROL, ago(days=3), inviter=ALICE, code="abc"),
        invite_use(guild, "abc", ALICE, CAROL, ago(days=3)),
        member_add(guild, DAVE, ago(days=11), inviter=ALICE, code="abc"),
        member_remove(guild, DAVE, ago(days=2)),
        member_remove(guild, BOB, ago(days=9)),
        ban(guild, DAVE, ago(days=1), moderator=MOD, reason="spam"),
        ban(guild, BOB, ago(days=9), moderator=MOD, reason="raid"),
    ]
    return events


@pytest.fixture(autouse=True)
def _processing_reaches_the_pages(settings: Any) -> None:
    """Processing runs in the test process (eager Celery): the page cache and the sockets see
    it, as every process does with Redis in production (``DASHBOARD_SHARED``)."""
    settings.DASHBOARD_SHARED = True


@pytest.fixture
def guild_data(ingest: Any, wide_retention: None) -> Guild:
    """The guild, its activity processed (eager Celery); ``rolled_up`` fills the snapshots."""
    status, ack = ingest(activity_events())
    assert status == 200 and not ack["rejected"], ack
    guild = Guild.objects.get(guild_id=int(GUILD))
    guild.name = "Test Guild"
    guild.owner_id = int(OWNER)
    guild.save()
    Guild.objects.get_or_create(guild_id=int(OTHER), defaults={"name": "Other"})
    return guild


@pytest.fixture
def rolled_up(guild_data: Guild) -> Guild:
    """The activity rolled up into 5-minute, hourly and daily snapshots (a few seconds)."""
    fill_snapshots()
    return guild_data


@pytest.fixture
def people(db: None, settings: Any) -> dict[str, User]:
    """Users by role: a superuser, a staff moderator assigned to the guild, the guild's owner
    (a Discord login), a member of the guild (Discord), a stranger."""
    from allauth.socialaccount.models import SocialAccount

    from dashboard.models import DiscordMembership

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast
    admin = User.objects.create_superuser("admin", password="pw")
    moderator = User.objects.create_user("mod", password="pw", is_staff=True)
    GuildAccess.objects.create(user=moderator, guild_id=int(GUILD))
    owner = User.objects.create_user("owner", password="pw")
    GuildAccess.objects.create(user=owner, guild_id=int(GUILD))
    SocialAccount.objects.create(user=owner, provider="discord", uid=OWNER)
    member = User.objects.create_user("member", password="pw")
    DiscordMembership.objects.create(user=member, guild_id=int(GUILD))
    stranger = User.objects.create_user("stranger", password="pw")
    return {
        "admin": admin,
        "moderator": moderator,
        "owner": owner,
        "member": member,
        "stranger": stranger,
    }


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- browser tests ----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AsgiServer:
    """uvicorn serving config.asgi (HTTP and WebSocket) from a thread of this process, so it
    shares the test database, the cache and the in-memory channel layer."""

    def __init__(self) -> None:
        import uvicorn

        from config.asgi import application

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            application, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def asgi_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[AsgiServer]:
    with django_db_blocker.unblock():
        server = AsgiServer()
        server.start()
        yield server
        server.stop()
        from django.db import connections

        for connection in connections.all():
            close_pool = getattr(connection, "close_pool", None)
            if close_pool is not None and getattr(connection, "pool", None) is not None:
                close_pool()


@pytest.fixture(scope="module")  # stopped after its module: its loop must not outlive it
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's Chromium is not installed (/usr/bin/chromium): `apt-get install -y "
            "chromium` (.ci/run and `make test` install it)"
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread (in a greenlet), and
    # Django refuses ORM calls from a thread with a running loop: the tests' own ORM calls are
    # synchronous, so allow them (as pytest-playwright's documentation says for Django).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def pages(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``pages(width=1280)`` opens a page in a fresh context (its own cookies); on failure a
    screenshot of every page the test opened is kept under var/screenshots/."""
    contexts: list[Any] = []

    def open_page(width: int = 1280, height: int = 900) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for n, context in enumerate(contexts):
            for m, page in enumerate(context.pages):
                name = f"{request.node.name}-{n}-{m}.png".replace("/", "_")
                with contextlib.suppress(Exception):  # a crashed page: nothing to keep
                    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    for context in contexts:
        context.close()
