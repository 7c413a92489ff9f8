"""Period summaries (the precomputed rankings of big guilds) answer exactly what the live
queries answer, and are used only while fresh (under 60 s) and for the same days."""

from __future__ import annotations

from datetime import timedelta

import pytest

from stats.models import MemberDailyStats, PeriodSummary
from stats.periodic import refresh_summaries
from tests.api.conftest import GUILD
from tests.api.test_activity import snapshots  # noqa: F401 (a fixture)
from tests.api.test_stats_api import ALICE, activity  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

PATHS = [
    *(f"dashboard?period={p}" for p in ("today", "week", "month", "all")),
    *(
        f"leaderboard?category={c}&period={p}&limit={n}"
        for c in ("messages", "voice", "reactions", "overall")
        for p in ("today", "week", "month", "all")
        for n in (1, 3, 100)
    ),
    "overview",
]


def answers(client) -> dict[str, dict]:
    return {path: client.get(f"/api/guilds/{GUILD}/stats/{path}").json() for path in PATHS}


@pytest.fixture
def summarized(guildstats_settings):
    guildstats_settings(API_SUMMARY_MIN_MEMBERS=1)


def test_summaries_answer_exactly_as_live(api, key_for_guild, activity, summarized, settings):  # noqa: F811
    settings.API_CACHE_SECONDS = 0
    client = api(key_for_guild)
    live = answers(client)
    assert refresh_summaries() == 4  # today, week, month, all of the one guild
    assert answers(client) == live


def test_summaries_are_used_only_while_fresh(
    api,
    key_for_guild,
    activity,  # noqa: F811
    summarized,
    settings,
    frozen,
):
    settings.API_CACHE_SECONDS = 0
    client = api(key_for_guild)
    url = f"/api/guilds/{GUILD}/stats/leaderboard?category=messages&period=today"
    refresh_summaries()
    MemberDailyStats.objects.filter(guild_id=int(GUILD), user_id=int(ALICE)).update(messages=0)
    assert client.get(url).json()["entries"][0]["userId"] == ALICE  # the summary: 3 messages
    frozen.shift(timedelta(seconds=61))
    assert client.get(url).json()["entries"][0]["userId"] != ALICE  # too old: live
    refresh_summaries()
    PeriodSummary.objects.filter(period="today").update(first_day="2026-03-19")
    assert client.get(url).json()["entries"][0]["userId"] != ALICE  # other days: live


def test_with_the_answer_cache_a_summary_is_used_only_while_the_answer_stays_60_s_fresh(
    api,
    key_for_guild,
    activity,  # noqa: F811
    summarized,
    settings,
    frozen,
):
    """An answer cached 30 s may be built from a summary at most 30 s old: never > 60 s."""
    settings.API_CACHE_SECONDS = 30
    client = api(key_for_guild)
    url = f"/api/guilds/{GUILD}/stats/leaderboard?category=messages&period=today"
    refresh_summaries()
    MemberDailyStats.objects.filter(guild_id=int(GUILD), user_id=int(ALICE)).update(messages=0)
    frozen.shift(timedelta(seconds=29))
    assert client.get(url).json()["entries"][0]["userId"] == ALICE  # the 29 s old summary
    from django.core.cache import cache

    cache.clear()
    frozen.shift(timedelta(seconds=2))
    assert client.get(url).json()["entries"][0]["userId"] != ALICE  # 31 s: computed live


def test_small_guilds_have_no_summary(activity, guildstats_settings):  # noqa: F811
    guildstats_settings(API_SUMMARY_MIN_MEMBERS=5)  # the guild has 4 members
    assert refresh_summaries() == 0
    assert not PeriodSummary.objects.exists()


def test_beat_refreshes_the_summaries_within_the_allowed_staleness(guildstats_settings):
    from config.scheduled import BEAT_SCHEDULE
    from stats.tasks import refresh_period_summaries

    entry = BEAT_SCHEDULE["refresh-period-summaries"]
    assert entry["task"] == "stats.tasks.refresh_period_summaries"
    assert entry["schedule"] <= 30  # a row is used under 60 s: one missed run is tolerated
    assert refresh_period_summaries.delay().get() == 0


def test_activity_distinct_members_from_summaries(api, key_for_guild, snapshots, summarized):  # noqa: F811
    from stats.models import MemberStats

    MemberStats.objects.create(guild_id=int(GUILD), user_id=int(ALICE))
    client = api(key_for_guild)
    paths = [
        f"activity?period={p}&granularity={g}"
        for p in ("today", "week", "month")
        for g in ("day", "week")
    ]
    live = {path: client.get(f"/api/guilds/{GUILD}/stats/{path}").json() for path in paths}
    assert refresh_summaries() == 4
    spans = PeriodSummary.objects.get(period="month").data["activeBySpan"]
    assert spans["2026-03-16:2026-03-20"] == 3 and spans["2026-03-19:2026-03-19"] == 2
    from django.core.cache import cache

    cache.clear()
    MemberDailyStats.objects.all().delete()  # only the summaries know now
    assert {path: client.get(f"/api/guilds/{GUILD}/stats/{path}").json() for path in paths} == live
