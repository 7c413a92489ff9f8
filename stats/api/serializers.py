"""Query parameters of the stats API (validated: a bad value answers 400 naming the field); the
answers' shapes are stats.selectors.shapes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from guilds.api.fields import COUNT_MAX, PAGE_MAX, IntegerField
from stats.selectors.heatmap import HEATMAP_PERIODS
from stats.selectors.periods import PERIODS
from stats.selectors.series import GRANULARITIES


class PeriodQuery(serializers.Serializer[None]):
    period = serializers.ChoiceField(choices=PERIODS, default="week")


class MembersQuery(serializers.Serializer[None]):
    page = IntegerField(min_value=1, max_value=PAGE_MAX, default=1)
    pageSize = IntegerField(min_value=1, max_value=100, default=20)
    sortBy = serializers.ChoiceField(
        choices=("messages", "voice", "reactions", "lastSeen"), default="messages"
    )
    sortOrder = serializers.ChoiceField(choices=("asc", "desc"), default="desc")
    minMessages = IntegerField(min_value=0, max_value=COUNT_MAX, required=False)
    minVoiceMinutes = IntegerField(min_value=0, max_value=COUNT_MAX, required=False)
    activeOnly = serializers.BooleanField(default=False)
    search = serializers.CharField(
        required=False,
        max_length=100,
        help_text="a member id, or part of a username, global name or nickname",
    )


class LeaderboardQuery(serializers.Serializer[None]):
    category = serializers.ChoiceField(
        choices=("messages", "voice", "reactions", "overall"), default="messages"
    )
    period = serializers.ChoiceField(choices=PERIODS, default="all")
    limit = IntegerField(min_value=1, max_value=100, default=10)


class ActivityQuery(serializers.Serializer[None]):
    period = serializers.ChoiceField(choices=PERIODS, default="week")
    granularity = serializers.ChoiceField(choices=GRANULARITIES, default="day")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # hourly snapshots are kept for a year, and an all-time hourly series would be unbounded
        if attrs["period"] == "all" and attrs["granularity"] == "hour":
            raise serializers.ValidationError(
                {"granularity": ["hour is available for today, week and month, not for all"]}
            )
        return attrs


class HeatmapQuery(serializers.Serializer[None]):
    period = serializers.ChoiceField(choices=HEATMAP_PERIODS, default="month")
