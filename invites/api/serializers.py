"""Query parameters of the invites API (its answers' shapes are invites.shapes)."""

from __future__ import annotations

from rest_framework import serializers

from guilds.api.fields import IntegerField


class InviteStatsQuery(serializers.Serializer[None]):
    limit = IntegerField(min_value=1, max_value=100, default=10)


class GrowthQuery(serializers.Serializer[None]):
    days = IntegerField(min_value=1, max_value=366, default=30)
