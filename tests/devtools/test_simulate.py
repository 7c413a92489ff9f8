"""manage.py simulate sends a realistic feed through the real HTTP ingest of a live server."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.db.models import Sum

from guilds.models import CollectionWindow, Guild
from invites.models import MemberJoin
from moderation.models import ModerationCase
from pipeline.models import Event
from stats.models import MemberStats

pytestmark = pytest.mark.django_db(transaction=True)


def test_simulate_sends_a_feed_whose_counts_match_what_it_reports(live_server, bot_token):
    out = io.StringIO()
    call_command(
        "simulate",
        "--guilds",
        "2",
        "--members",
        "12",
        "--hours",
        "3",
        "--batch-size",
        "200",
        "--url",
        f"{live_server.url}/api/ingest/events",
        "--token",
        bot_token,
        stdout=out,
        stderr=io.StringIO(),
    )
    report = out.getvalue()
    sent = int(re.search(r"sent (\d+) events", report).group(1))
    accepted, duplicates, rejected, invalid = map(
        int,
        re.search(
            r"accepted (\d+), duplicates (\d+), rejected (\d+) \(generated invalid: (\d+)\)", report
        ).groups(),
    )
    assert sent == accepted + duplicates + rejected
    assert rejected == invalid > 0
    assert Event.objects.count() == accepted
    messages, voice, reactions = map(
        int,
        re.search(
            r"expected totals: messages (\d+), voice [0-9.]+ min \((\d+) s\), reactions (\d+)",
            report,
        ).groups(),
    )
    totals = MemberStats.objects.aggregate(
        m=Sum("total_messages"), v=Sum("total_voice_seconds"), r=Sum("total_reactions_given")
    )
    assert (totals["m"], totals["v"], totals["r"]) == (messages, voice, reactions)
    assert messages > 0 and voice > 0 and reactions > 0
    # moderation and invites have data on the first run, and the report says how to read it
    cases, invited = map(
        int, re.search(r"moderation cases (\d+), invited joins (\d+)", report).groups()
    )
    assert ModerationCase.objects.count() == cases == 8  # 4 per guild
    assert sorted(ModerationCase.objects.values_list("action", flat=True)) == sorted(
        ["BAN", "KICK", "TIMEOUT", "MESSAGE_DELETE"] * 2
    )
    assert MemberJoin.objects.filter(inviter_id__isnull=False).count() == invited > 0
    assert MemberJoin.objects.filter(kind="vanity").count() == 2
    assert set(MemberJoin.objects.values_list("attribution", flat=True)) == {
        "invite",
        "vanity",
        "unknown",
    }
    # the collector's heartbeats: two collection windows per guild, the outage between them
    windows = sorted(CollectionWindow.objects.values_list("guild_id", "started_at", "ended_at"))
    assert len(windows) == 4
    for (g1, _, first_end), (g2, second_start, _) in zip(windows[::2], windows[1::2], strict=True):
        assert g1 == g2 and (second_start - first_end).total_seconds() >= 17 * 60  # 10 % of 3 h
    guilds = re.search(r"guilds: ([0-9 ]+)\n", report).group(1).split()
    assert sorted(guilds) == sorted(
        str(g) for g in Guild.objects.values_list("guild_id", flat=True)
    )
    command = re.search(r"manage.py create_api_key simulator (.+)\n", report).group(1)
    assert command == " ".join(f"--guild {g}" for g in guilds)


def test_simulate_reports_an_unreachable_server():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="cannot reach"):
        call_command(
            "simulate",
            "--guilds",
            "1",
            "--members",
            "2",
            "--hours",
            "1",
            "--url",
            "ws://127.0.0.1:9/ws/bot/",
            "--token",
            "x",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
