"""Every figure a page shows is the API's answer for the same guild and period: the cards, the
chart's points, the heatmap, the leaderboards, the members table, a member's page, the case
list and the inviters (Django test client; the browser tests check the rendered page too)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from tests.dashboard.conftest import ALICE, DAVE, GUILD, MOD, ago, client_for
from tests.factories import ban, member_add, member_remove

pytestmark = pytest.mark.django_db(transaction=True)
NOON = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # a Friday: nothing crosses midnight


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOON, tick=False):
        yield


PERIODS = ("today", "week", "month", "all")


@pytest.fixture
def admin(people: dict, guild_data: Any, settings: Any):
    settings.API_CACHE_SECONDS = 0  # both sides computed now, nothing older
    return client_for(people["admin"])


def cards(html: str) -> dict[str, tuple[int, str]]:
    found = re.findall(
        r'data-card="([a-z]+)">\s*<div class="label">[^<]*</div>\s*'
        r'<div class="value" data-value="(-?\d+)">[^<]*</div>\s*'
        r'<div class="change[^"]*" data-change="([^"]*)">',
        html,
    )
    return {key: (int(value), change) for key, value, change in found}


def card_value(html: str, key: str) -> int:
    found = re.search(rf'data-card="{key}">.*?data-value="(-?\d+)"', html, re.S)
    assert found, key
    return int(found.group(1))


def script_json(html: str, element_id: str) -> Any:
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, element_id
    return json.loads(match.group(1))


def change_text(value: float | None) -> str:
    return "" if value is None else str(value)


@pytest.mark.parametrize("period", PERIODS)
def test_the_cards_are_the_apis_figures(admin, period):
    html = admin.get(f"/guilds/{GUILD}/?period={period}").content.decode()
    shown = cards(html)
    api = admin.get(f"/api/guilds/{GUILD}/stats/dashboard?period={period}").json()
    assert shown["messages"] == (api["totalMessages"], change_text(api["messagesChange"]))
    assert shown["voice"] == (api["totalVoiceMinutes"], change_text(api["voiceMinutesChange"]))
    assert shown["reactions"] == (api["totalReactions"], change_text(api["reactionsChange"]))
    assert shown["active"] == (api["uniqueActiveUsers"], change_text(api["activeUsersChange"]))

    growth = admin.get(f"/api/guilds/{GUILD}/invites/growth?days=366").json()
    cases = admin.get(f"/api/guilds/{GUILD}/moderation/cases?pageSize=100").json()
    if period == "all":
        assert shown["joins"][0] == growth["totals"]["joins"]
        assert shown["leaves"][0] == growth["totals"]["leaves"]
        assert shown["moderation"][0] == cases["pagination"]["total"]
    else:
        since, until = api["periodStart"], api["periodEnd"]
        days = [d for d in growth["days"] if since[:10] <= d["day"] < until[:10]]
        assert shown["joins"][0] == sum(d["joins"] for d in days)
        assert shown["leaves"][0] == sum(d["leaves"] for d in days)
        in_period = admin.get(
            f"/api/guilds/{GUILD}/moderation/cases", {"since": since, "until": until}
        ).json()
        assert shown["moderation"][0] == in_period["pagination"]["total"]
    # the fixture has something in every card over 30 days
    if period == "month":
        assert all(value for value, _ in shown.values()), shown


def tone(html: str, card: str) -> str:
    return re.search(rf'data-card="{card}">.*?class="change ?([a-z]*)"', html, re.S).group(1)


def test_changes_against_the_previous_period_and_their_tone(admin, ingest):
    html = admin.get(f"/guilds/{GUILD}/?period=week").content.decode()
    shown = cards(html)
    # the week before: 1 join (dave), 1 leave (bob), 1 ban (bob); this week the same
    assert shown["joins"] == (1, "0.0") and shown["leaves"] == (1, "0.0")
    assert shown["moderation"] == (1, "0.0")
    assert tone(html, "leaves") == ""
    # more leaves and cases than the week before: shown as bad; more joins: good
    ingest(
        [
            member_remove(GUILD, ALICE, ago(hours=1)),
            ban(GUILD, ALICE, ago(hours=1), moderator=MOD),
            member_add(GUILD, "1006", ago(hours=1)),
        ]
    )
    html = admin.get(f"/guilds/{GUILD}/?period=week").content.decode()
    shown = cards(html)
    assert shown["leaves"] == (2, "100.0") and tone(html, "leaves") == "bad"
    assert shown["moderation"] == (2, "100.0") and tone(html, "moderation") == "bad"
    assert shown["joins"] == (2, "100.0") and tone(html, "joins") == "good"
    # today against yesterday: 3 messages against 1
    html = admin.get(f"/guilds/{GUILD}/?period=today").content.decode()
    assert cards(html)["messages"] == (3, "200.0") and tone(html, "messages") == "good"


@pytest.mark.parametrize(
    ("period", "granularity"),
    [("today", "hour"), ("week", "day"), ("all", "week")],
)
def test_the_chart_is_the_activity_series(admin, rolled_up, period, granularity):
    html = admin.get(f"/guilds/{GUILD}/?period={period}&granularity={granularity}").content.decode()
    chart = script_json(html, "chart-data")
    api = admin.get(
        f"/api/guilds/{GUILD}/stats/activity?period={period}&granularity={granularity}"
    ).json()
    assert chart["activity"] == api
    live = admin.get(f"/guilds/{GUILD}/live.json?period={period}&granularity={granularity}")
    assert live["Cache-Control"] == "no-store"
    assert live.json()["activity"] == api
    assert {c["key"]: c["value"] for c in live.json()["cards"]} == {
        k: v for k, (v, _) in cards(html).items()
    }


def test_hourly_all_time_falls_back_to_days(admin):
    html = admin.get(f"/guilds/{GUILD}/?period=all&granularity=hour").content.decode()
    assert script_json(html, "chart-data")["activity"]["granularity"] == "week"
    assert 'data-granularity="hour"' not in html


def test_heatmap_and_leaderboards_are_the_apis(admin, rolled_up):
    html = admin.get(f"/guilds/{GUILD}/?period=month").content.decode()
    heat = admin.get(f"/api/guilds/{GUILD}/stats/heatmap?period=month").json()
    shown = [
        int(v) for v in re.findall(r'<td style="[^"]*" title="[^"]*" data-messages="(\d+)"', html)
    ]
    # rows Monday..Sunday, hours 0..23: the API's cells in that order
    assert shown == [
        c["totalMessages"] for c in sorted(heat["cells"], key=lambda c: (c["dayOfWeek"], c["hour"]))
    ]
    assert sum(shown) > 0
    for category in ("messages", "voice", "reactions", "overall"):
        board = admin.get(
            f"/api/guilds/{GUILD}/stats/leaderboard?category={category}&period=month&limit=10"
        ).json()
        block = html.split(f'data-testid="leaderboard-{category}"')[1].split("</ol>")[0]
        scores = [int(s) for s in re.findall(r'data-score="(\d+)"', block)]
        assert scores == [e["score"] for e in board["entries"]]
        for entry in board["entries"]:
            assert entry["userId"] in block
        badges = re.findall(r'data-badge="([a-z]+)"', block)
        assert badges == [e["badge"] for e in board["entries"] if "badge" in e]
    overview = admin.get(f"/api/guilds/{GUILD}/stats/overview").json()
    channels = html.split('data-testid="top-channels"')[1].split("</table>")[0]
    for channel in overview["topChannels"]:
        assert channel["channelId"] in channels


@pytest.mark.parametrize(
    "query",
    [
        "",
        "sortBy=voice&sortOrder=desc",
        "sortBy=lastSeen&sortOrder=asc",
        "minMessages=2",
        "activeOnly=true",
        "sortBy=reactions&page=2",
    ],
)
def test_the_members_table_is_the_apis_page(admin, query):
    html = admin.get(f"/guilds/{GUILD}/members/?{query}").content.decode()
    api_query = query.replace("page=2", "page=2&pageSize=25") if "page=2" in query else query
    api = admin.get(f"/api/guilds/{GUILD}/stats/members?pageSize=25&{api_query}").json()
    rows = re.findall(r'<tr data-user="(\d+)">', html)
    assert rows == [m["userId"] for m in api["members"]]
    assert f'data-testid="member-total">{api["pagination"]["total"]:,}<' in html
    csv = re.search(r'href="([^"]+)" data-testid="csv-link"', html).group(1).replace("&amp;", "&")
    exported = admin.get(csv)
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    lines = exported.content.decode().strip().splitlines()[1:]
    assert len(lines) == api["pagination"]["total"]


def test_a_members_page_is_the_apis_history(admin):
    html = admin.get(f"/guilds/{GUILD}/members/{DAVE}/").content.decode()
    history = admin.get(f"/api/guilds/{GUILD}/moderation/users/{DAVE}").json()
    assert history["cases"] and history["membership"]
    for case in history["cases"]:
        assert f"<td>{case['caseNumber']}</td><td>{case['action']}</td>" in html
    assert history["membership"]["invitedBy"] == ALICE
    assert f"/guilds/{GUILD}/members/{ALICE}/" in html.split('data-testid="inviter"')[1]
    member = next(
        m
        for m in admin.get(f"/api/guilds/{GUILD}/stats/members?pageSize=100").json()["members"]
        if m["userId"] == DAVE
    )
    assert card_value(html, "messages") == member["totalMessages"]
    assert admin.get(f"/guilds/{GUILD}/members/4242/").status_code == 404
    assert admin.get(f"/guilds/{GUILD}/members/x/").status_code == 404


@pytest.mark.parametrize(
    "query", ["", "action=BAN", f"user={DAVE}", "moderator=1005", "moderator=system"]
)
def test_the_case_list_is_the_apis(admin, query):
    html = admin.get(f"/guilds/{GUILD}/moderation/?{query}").content.decode()
    api_query = query.replace("user=", "targetUserId=").replace("moderator=", "moderatorId=")
    api = admin.get(f"/api/guilds/{GUILD}/moderation/cases?pageSize=25&{api_query}").json()
    listed = html.split('data-testid="cases"')[1]
    assert re.findall(r'<tr data-case="(\d+)">', listed) == [
        str(c["caseNumber"]) for c in api["cases"]
    ]
    recent = admin.get(f"/api/guilds/{GUILD}/moderation/recent").json()["cases"][:10]
    shown = html.split('data-testid="recent-cases"')[1].split("</table>")[0]
    assert re.findall(r'<tr data-case="(\d+)">', shown) == [str(c["caseNumber"]) for c in recent]


def test_the_invites_page_is_the_apis(admin):
    html = admin.get(f"/guilds/{GUILD}/invites/").content.decode()
    stats = admin.get(f"/api/guilds/{GUILD}/invites/stats?limit=25").json()
    growth = admin.get(f"/api/guilds/{GUILD}/invites/growth?days=30").json()
    inviters = re.findall(r'<tr data-inviter="(\d+)">', html)
    assert inviters == [i["inviterId"] for i in stats["topInviters"]] and inviters
    totals = re.findall(r'data-total="(-?\d+)"', html)
    assert totals == [str(i["total"]) for i in stats["topInviters"]]
    assert script_json(html, "growth-data")["days"] == growth["days"]
    assert card_value(html, "joins") == growth["totals"]["joins"]


def test_an_empty_guild_renders_every_page(people, db):
    from guilds.models import Guild

    Guild.objects.create(guild_id=int(GUILD), name="Empty")
    client = client_for(people["admin"])
    for path in ("", "?period=all", "members/", "moderation/", "invites/", "settings/"):
        response = client.get(f"/guilds/{GUILD}/{path}")
        assert response.status_code == 200, path
    assert client.get(f"/guilds/{GUILD}/live.json").status_code == 200


def test_the_charts_current_bucket_moves_as_soon_as_events_are_processed(
    people, guild_data, ingest
):
    """No fill between the two reads, and the page cache on (each processed chunk renews the
    guild's cache generation): the unfilled stretch is read live (``stats.selectors.series``)."""
    from tests.factories import message

    client = client_for(people["admin"])
    url = f"/guilds/{GUILD}/live.json?period=today&granularity=hour"

    def today() -> int:
        return sum(p["totalMessages"] for p in client.get(url).json()["activity"]["dataPoints"])

    before = today()
    status, ack = ingest([message(GUILD, ALICE, "2001", ago(seconds=5))])
    assert (status, ack["accepted"]) == (200, 1)
    assert today() == before + 1


def test_a_gap_in_collection_is_said_not_shown_as_zero(admin, ingest):
    def beat(state: str, since: datetime, at: datetime) -> dict[str, Any]:
        return {
            "type": "COLLECTOR_HEARTBEAT",
            "guildId": GUILD,
            "shardId": 0,
            "timestamp": int(at.timestamp() * 1000),
            "id": f"beat-{state}-{at.timestamp()}",
            "data": {
                "state": state,
                "since": int(since.timestamp() * 1000),
                "intervalSeconds": 60,
                "shardCount": 1,
                "guildIds": [GUILD],
            },
        }

    t = lambda hour, minute=0: NOON.replace(hour=hour, minute=minute)  # noqa: E731
    status, ack = ingest(
        [
            beat("start", t(10), t(10)),
            beat("alive", t(10), t(10, 30)),
            beat("stop", t(10, 30), t(10, 30)),
            beat("start", t(11), t(11)),
            beat("alive", t(11), t(12)),
        ]
    )
    assert (status, ack["rejected"]) == (200, [])
    page = admin.get(f"/guilds/{GUILD}/?period=today")
    note = re.search(r'data-testid="coverage-note">([^<]*)<', page.content.decode())
    assert note is not None
    assert note[1] == (
        "Collected for 75% of this period (1 gap): activity outside collection is unknown, "
        "not zero."
    )
    api = admin.get(f"/api/guilds/{GUILD}/stats/dashboard?period=today").json()["coverage"]
    assert (api["coveredSeconds"], api["periodSeconds"]) == (5400, 7200)


def test_embedded_mode_pages_are_fresh_and_poll(people, guild_data, ingest, settings):
    """Without Redis the worker is another process: nothing cached, the page polls (2 s)."""
    from tests.factories import message

    settings.DASHBOARD_SHARED = False
    client = client_for(people["admin"])
    page = client.get(f"/guilds/{GUILD}/?period=today").content.decode()
    config = json.loads(re.search(r'id="page-config" type="application/json">([^<]*)<', page)[1])
    assert config["pollOnly"] is True
    url = f"/guilds/{GUILD}/live.json?period=today&granularity=hour"

    def today() -> int:
        return sum(p["totalMessages"] for p in client.get(url).json()["activity"]["dataPoints"])

    before = today()
    from django.core.cache import cache

    from dashboard.selectors import generation_key

    cache.delete(generation_key(int(GUILD)))  # as if the generation moved in another process
    ingest([message(GUILD, ALICE, "2001", ago(seconds=5))])
    cache.delete(generation_key(int(GUILD)))
    assert today() == before + 1
