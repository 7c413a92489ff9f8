"""Query parameters of the stats API (validated: a bad value answers 400 naming the field) and
response shapes (for the OpenAPI schema)."""

from __future__ import annotations

from rest_framework import serializers

from guilds.api.fields import COUNT_MAX, PAGE_MAX, IntegerField
from stats.selectors.heatmap import HEATMAP_PERIODS
from stats.selectors.periods import PERIODS
from stats.selectors.series import GRANULARITIES


class PeriodQuery(serializers.Serializer):
    period = serializers.ChoiceField(choices=PERIODS, default="week")


class MembersQuery(serializers.Serializer):
    page = IntegerField(min_value=1, max_value=PAGE_MAX, default=1)
    pageSize = IntegerField(min_value=1, max_value=100, default=20)
    sortBy = serializers.ChoiceField(
        choices=("messages", "voice", "reactions", "lastSeen"), default="messages"
    )
    sortOrder = serializers.ChoiceField(choices=("asc", "desc"), default="desc")
    minMessages = IntegerField(min_value=0, max_value=COUNT_MAX, required=False)
    minVoiceMinutes = IntegerField(min_value=0, max_value=COUNT_MAX, required=False)
    activeOnly = serializers.BooleanField(default=False)


class LeaderboardQuery(serializers.Serializer):
    category = serializers.ChoiceField(
        choices=("messages", "voice", "reactions", "overall"), default="messages"
    )
    period = serializers.ChoiceField(choices=PERIODS, default="all")
    limit = IntegerField(min_value=1, max_value=100, default=10)


class ActivityQuery(serializers.Serializer):
    period = serializers.ChoiceField(choices=PERIODS, default="week")
    granularity = serializers.ChoiceField(choices=GRANULARITIES, default="day")

    def validate(self, attrs: dict) -> dict:
        # hourly snapshots are kept for a year, and an all-time hourly series would be unbounded
        if attrs["period"] == "all" and attrs["granularity"] == "hour":
            raise serializers.ValidationError(
                {"granularity": ["hour is available for today, week and month, not for all"]}
            )
        return attrs


class HeatmapQuery(serializers.Serializer):
    period = serializers.ChoiceField(choices=HEATMAP_PERIODS, default="month")


# --- responses (documentation) ---------------------------------------------------------------
class TopMember(serializers.Serializer):
    userId = serializers.CharField()
    totalMessages = serializers.IntegerField()
    totalVoiceMinutes = serializers.IntegerField()


class CoverageGap(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class PeriodCoverage(serializers.Serializer):
    covered = serializers.BooleanField(
        allow_null=True,
        help_text="null: the guild never had a collection window (its bot sends no "
        "heartbeats); true: no gap in the measured time",
    )
    coveredSeconds = serializers.IntegerField(allow_null=True)
    periodSeconds = serializers.IntegerField(
        allow_null=True,
        help_text="the measured time: from the later of the period's start and trackedSince "
        "to the earlier of its end and now",
    )
    trackedSince = serializers.DateTimeField(
        allow_null=True, help_text="start of the guild's first collection window"
    )
    gaps = CoverageGap(many=True, help_text="uncovered stretches, the latest 50, oldest first")


class Dashboard(serializers.Serializer):
    guildId = serializers.CharField()
    period = serializers.ChoiceField(choices=PERIODS)
    totalMessages = serializers.IntegerField()
    totalVoiceMinutes = serializers.IntegerField()
    totalReactions = serializers.IntegerField()
    uniqueActiveUsers = serializers.IntegerField()
    messagesChange = serializers.FloatField(allow_null=True, help_text="% vs previous period")
    voiceMinutesChange = serializers.FloatField(allow_null=True)
    reactionsChange = serializers.FloatField(allow_null=True)
    activeUsersChange = serializers.FloatField(allow_null=True)
    topMembers = TopMember(many=True)
    periodStart = serializers.DateTimeField(allow_null=True)
    periodEnd = serializers.DateTimeField()
    coverage = PeriodCoverage(help_text="how much of the period the collectors covered")


class Member(serializers.Serializer):
    userId = serializers.CharField()
    guildId = serializers.CharField()
    totalMessages = serializers.IntegerField()
    totalVoiceMinutes = serializers.IntegerField()
    totalVoiceSeconds = serializers.IntegerField()
    totalReactionsGiven = serializers.IntegerField()
    totalReactionsReceived = serializers.IntegerField()
    lastMessageAt = serializers.DateTimeField(allow_null=True)
    lastVoiceAt = serializers.DateTimeField(allow_null=True)
    lastSeen = serializers.DateTimeField(allow_null=True)
    joinedAt = serializers.DateTimeField(allow_null=True)


class Pagination(serializers.Serializer):
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    pageSize = serializers.IntegerField()
    totalPages = serializers.IntegerField()


class MemberPage(serializers.Serializer):
    members = Member(many=True)
    pagination = Pagination()


class LeaderboardEntry(serializers.Serializer):
    rank = serializers.IntegerField()
    userId = serializers.CharField()
    score = serializers.IntegerField()
    totalMessages = serializers.IntegerField()
    totalVoiceMinutes = serializers.IntegerField()
    totalReactions = serializers.IntegerField()
    badge = serializers.ChoiceField(choices=("gold", "silver", "bronze"), required=False)


class Leaderboard(serializers.Serializer):
    guildId = serializers.CharField()
    category = serializers.CharField()
    period = serializers.CharField()
    entries = LeaderboardEntry(many=True)
    updatedAt = serializers.DateTimeField()


class PeriodTotals(serializers.Serializer):
    totalMessages = serializers.IntegerField()
    totalVoiceMinutes = serializers.IntegerField()
    totalReactions = serializers.IntegerField()
    uniqueActiveUsers = serializers.IntegerField()


class TopChannel(serializers.Serializer):
    channelId = serializers.CharField()
    messages = serializers.IntegerField()
    voiceMinutes = serializers.IntegerField()


class OverviewMember(serializers.Serializer):
    userId = serializers.CharField()
    messages = serializers.IntegerField()
    voiceMinutes = serializers.IntegerField()
    reactions = serializers.IntegerField()


class Overview(serializers.Serializer):
    guildId = serializers.CharField()
    today = PeriodTotals()
    week = PeriodTotals()
    month = PeriodTotals()
    topChannels = TopChannel(many=True)
    topMembers = OverviewMember(many=True)
    periodStart = serializers.DateTimeField()
    periodEnd = serializers.DateTimeField()


class ActivityPoint(serializers.Serializer):
    timestamp = serializers.DateTimeField(help_text="start of the point (a local hour/day/week)")
    totalMessages = serializers.IntegerField()
    totalVoiceMinutes = serializers.IntegerField()
    totalReactions = serializers.IntegerField()
    uniqueActiveUsers = serializers.IntegerField(
        allow_null=True, help_text="null for an hour still made of 5-minute buckets"
    )
    covered = serializers.BooleanField(
        allow_null=True,
        help_text="false: no collector was collecting during the point (missing, not zero); "
        "null: unknown (no collection window, or before the guild's first)",
    )


class Activity(serializers.Serializer):
    guildId = serializers.CharField()
    period = serializers.ChoiceField(choices=PERIODS)
    granularity = serializers.ChoiceField(choices=GRANULARITIES)
    timezone = serializers.CharField()
    periodStart = serializers.DateTimeField()
    periodEnd = serializers.DateTimeField()
    dataPoints = ActivityPoint(many=True)


class HeatmapCell(serializers.Serializer):
    dayOfWeek = serializers.IntegerField(min_value=1, max_value=7, help_text="ISO: 1 = Monday")
    hour = serializers.IntegerField(min_value=0, max_value=23, help_text="local hour")
    totalMessages = serializers.IntegerField()
    totalVoiceMinutes = serializers.IntegerField()
    totalReactions = serializers.IntegerField()


class Heatmap(serializers.Serializer):
    guildId = serializers.CharField()
    period = serializers.ChoiceField(choices=HEATMAP_PERIODS)
    timezone = serializers.CharField()
    periodStart = serializers.DateTimeField()
    periodEnd = serializers.DateTimeField()
    cells = HeatmapCell(many=True, help_text="168 cells: Monday 0h … Sunday 23h")
