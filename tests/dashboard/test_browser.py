"""The pages in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium, never
a downloaded browser) against uvicorn serving the app (HTTP and WebSocket) from a thread of the
test process. Sign in, open a guild, compare the cards with the API, switch period and
granularity, see a live update arrive (and the polling fallback), the access levels, and no
horizontal scrolling at 375 px. A failing test leaves screenshots under var/screenshots/."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest

from dashboard.models import GuildPageSettings
from tests.dashboard.conftest import ALICE, CHANNEL, DAVE, GUILD, ago
from tests.factories import message

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # WhiteNoise serves static files with a sync iterator under ASGI (harmless)
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume:Warning"),
]

LIVE_BUDGET_MS = 2000  # the issue: open dashboards update within 2 s


def sign_in(page: Any, server: Any, username: str = "mod") -> None:
    page.goto(f"{server.url}/")
    page.get_by_role("link", name="Sign in with a staff account").click()
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/")


def shown_cards(page: Any) -> dict[str, int]:
    return page.eval_on_selector_all(
        "[data-card]",
        "els => Object.fromEntries(els.map(e => [e.dataset.card, "
        "Number(e.querySelector('.value').dataset.value)]))",
    )


def api(page: Any, server: Any, path: str) -> Any:
    response = page.request.get(f"{server.url}/api/guilds/{GUILD}/{path}")
    assert response.ok, path
    return response.json()


def messages_card_is(value: int) -> str:
    return (
        f"Number(document.querySelector('[data-card=messages] .value').dataset.value) === {value}"
    )


def ingest_over_http(server: Any, token: str, events: list[dict]) -> None:
    request = urllib.request.Request(
        f"{server.url}/api/ingest/events",
        data=json.dumps(events).encode(),
        headers={"Authorization": f"Bot {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.load(answer)["accepted"] == len(events)


def test_sign_in_read_the_cards_switch_period_and_granularity(
    asgi_server, pages, people, rolled_up, settings
):
    settings.API_CACHE_SECONDS = 0
    page = pages()
    sign_in(page, asgi_server)
    page.get_by_role("link", name="Test Guild").click()
    page.wait_for_url(f"{asgi_server.url}/guilds/{GUILD}/")
    assert page.get_by_test_id("guild-name").inner_text() == "Test Guild"

    def check(period: str) -> None:
        cards = shown_cards(page)
        body = api(page, asgi_server, f"stats/dashboard?period={period}")
        assert cards["messages"] == body["totalMessages"]
        assert cards["voice"] == body["totalVoiceMinutes"]
        assert cards["reactions"] == body["totalReactions"]
        assert cards["active"] == body["uniqueActiveUsers"]
        # what a person reads is the same number
        text = page.inner_text('[data-card="messages"] .value')
        assert text == f"{body['totalMessages']:,}"

    check("week")
    page.click('[data-period="month"]')
    page.wait_for_url("**/?period=month")
    check("month")
    assert shown_cards(page)["moderation"] == 2  # both bans in 30 days

    chart = page.get_by_test_id("activity-chart")
    assert chart.get_attribute("data-granularity") == "day"
    assert page.locator("#activity-chart canvas").count() == 1
    page.click('[data-granularity="hour"]')
    page.wait_for_function(
        "document.getElementById('activity-chart').dataset.granularity === 'hour'"
    )
    assert page.url.endswith("?period=month&granularity=hour")  # no reload, a shareable URL
    series = api(page, asgi_server, "stats/activity?period=month&granularity=hour")
    assert int(chart.get_attribute("data-points")) == len(series["dataPoints"])
    current = int(chart.get_attribute("data-current"))
    assert 0 <= current < len(series["dataPoints"])
    assert page.eval_on_selector('[data-granularity="hour"]', "e => e.classList.contains('on')")

    page.get_by_role("link", name="Members").click()
    rows = page.locator("[data-testid=members-table] tbody tr[data-user]")
    members = api(page, asgi_server, "stats/members?pageSize=25")
    assert rows.count() == len(members["members"]) > 0
    assert rows.first.get_attribute("data-user") == members["members"][0]["userId"]
    page.click(f'tr[data-user="{DAVE}"] a')
    page.wait_for_url(f"**/members/{DAVE}/")
    assert page.get_by_test_id("inviter").inner_text().startswith(ALICE)
    assert "BAN" in page.get_by_test_id("member-cases").inner_text()


def test_a_live_update_arrives_within_two_seconds_and_polling_takes_over(
    asgi_server, pages, people, guild_data, bot_token
):
    page = pages()
    sign_in(page, asgi_server)
    page.goto(f"{asgi_server.url}/guilds/{GUILD}/?period=today")
    page.wait_for_selector("#live-state[data-state=live]")
    before = shown_cards(page)["messages"]
    ingest_over_http(asgi_server, bot_token, [message(GUILD, ALICE, CHANNEL, ago(seconds=1))])
    page.wait_for_function(
        messages_card_is(before + 1),
        timeout=LIVE_BUDGET_MS,
    )
    # a second chunk inside the same second is not pushed on its own: the page's second fetch
    ingest_over_http(asgi_server, bot_token, [message(GUILD, ALICE, CHANNEL, ago(seconds=1))])
    page.wait_for_function(
        messages_card_is(before + 2),
        timeout=LIVE_BUDGET_MS + 500,
    )

    # the open page pings, which keeps its guild watched (pushed to) even if the mark was dropped
    from django.core.cache import cache

    from dashboard.live import watch_key

    pinging = pages()
    pinging.add_init_script("window.GUILDSTATS_PING_MS = 200;")
    sign_in(pinging, asgi_server)
    pinging.goto(f"{asgi_server.url}/guilds/{GUILD}/?period=today")
    pinging.wait_for_selector("#live-state[data-state=live]")
    cache.delete(watch_key(int(GUILD)))
    deadline = time.monotonic() + 3
    while cache.get(watch_key(int(GUILD))) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cache.get(watch_key(int(GUILD))) is not None

    # without a socket the page polls
    polling = pages()
    polling.add_init_script("window.WebSocket = undefined; window.GUILDSTATS_POLL_MS = 300;")
    sign_in(polling, asgi_server)
    polling.goto(f"{asgi_server.url}/guilds/{GUILD}/?period=today")
    polling.wait_for_selector("#live-state[data-state=polling]")
    ingest_over_http(asgi_server, bot_token, [message(GUILD, ALICE, CHANNEL, ago(seconds=1))])
    polling.wait_for_function(
        messages_card_is(before + 3),
        timeout=LIVE_BUDGET_MS,
    )


def test_access_levels_in_the_browser(asgi_server, pages, people, guild_data):
    anonymous = pages()
    anonymous.goto(f"{asgi_server.url}/guilds/{GUILD}/")
    assert "/accounts/login/" in anonymous.url  # private by default
    assert anonymous.locator("input[name=password]").count() == 1

    GuildPageSettings.objects.create(guild_id=int(GUILD), level="public")
    anonymous.goto(f"{asgi_server.url}/guilds/{GUILD}/")
    assert anonymous.get_by_test_id("cards").is_visible()
    assert anonymous.get_by_role("link", name="Members").count() == 0  # managers only
    assert anonymous.goto(f"{asgi_server.url}/guilds/{GUILD}/members/").status == 403
    anonymous.goto(f"{asgi_server.url}/guilds/{GUILD}/")
    anonymous.wait_for_selector("#live-state[data-state=live]")  # the socket admits anyone

    # a manager makes it private again and shares a link
    manager = pages()
    sign_in(manager, asgi_server)
    manager.goto(f"{asgi_server.url}/guilds/{GUILD}/settings/")
    manager.check("input[value=private]")
    manager.get_by_role("button", name="Save").click()
    manager.get_by_role("button", name="Create a link").click()
    link = manager.get_by_test_id("new-link").inner_text()
    assert anonymous.goto(f"{asgi_server.url}/guilds/{GUILD}/").url.count("/accounts/login/") == 1
    visitor = pages()
    visitor.goto(link)
    visitor.wait_for_url(f"{asgi_server.url}/guilds/{GUILD}/")
    assert visitor.get_by_test_id("cards").is_visible()


@pytest.mark.parametrize("width", [375])
def test_no_horizontal_scrolling_on_a_phone(asgi_server, pages, people, rolled_up, width):
    page = pages(width=width, height=800)
    sign_in(page, asgi_server)
    for path in (
        "/",
        f"/guilds/{GUILD}/?period=month",
        f"/guilds/{GUILD}/members/",
        f"/guilds/{GUILD}/members/{DAVE}/",
        f"/guilds/{GUILD}/moderation/",
        f"/guilds/{GUILD}/invites/",
        f"/guilds/{GUILD}/settings/",
    ):
        page.goto(asgi_server.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, (path, overflow)


def test_people_and_channels_by_name(asgi_server, pages, people, guild_data, ingest, settings):
    """Once the directory knows them, the leaderboards, top channels and the members table show
    names (the id on hover), never the id as text."""
    from tests.dashboard.conftest import BOB, CAROL, VOICE
    from tests.directory.factories import channel, directory, person

    settings.API_CACHE_SECONDS = 0
    names = {ALICE: "Alice Liddell", BOB: "Bob Builder", CAROL: "Carol Danvers", DAVE: "Dave"}
    status, ack = ingest(
        [
            directory(
                GUILD,
                ago(minutes=1),
                channels=[channel(CHANNEL, "general"), channel(VOICE, "Lounge", type_=2)],
                members=[
                    person(user, name.split()[0].lower(), global_name=name)
                    for user, name in names.items()
                ],
            )
        ]
    )
    assert status == 200 and not ack["rejected"], ack
    page = pages()
    sign_in(page, asgi_server)
    page.goto(f"{asgi_server.url}/guilds/{GUILD}/?period=month")
    board = page.inner_text('[data-testid="leaderboard-messages"]')
    assert "Alice Liddell" in board and ALICE not in board
    assert page.get_attribute('[data-testid="leaderboard-messages"] .who', "title") == ALICE
    channels = page.inner_text("text=#general >> xpath=ancestor::table")
    assert CHANNEL not in channels
    page.goto(f"{asgi_server.url}/guilds/{GUILD}/members/")
    table = page.inner_text("tbody")
    assert all(name in table for name in names.values())
    assert not any(user in table for user in names)
