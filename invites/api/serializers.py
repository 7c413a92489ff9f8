"""Query parameters and response shapes (OpenAPI) of the invites API."""

from __future__ import annotations

from rest_framework import serializers

from guilds.api.fields import IntegerField


class InviteStatsQuery(serializers.Serializer):
    limit = IntegerField(min_value=1, max_value=100, default=10)


class GrowthQuery(serializers.Serializer):
    days = IntegerField(min_value=1, max_value=366, default=30)


class Inviter(serializers.Serializer):
    inviterId = serializers.CharField()
    inviterUsername = serializers.CharField()
    regular = serializers.IntegerField()
    leaves = serializers.IntegerField()
    fakes = serializers.IntegerField()
    bonus = serializers.IntegerField()
    total = serializers.IntegerField(help_text="regular + bonus - leaves - fakes")


class ActiveInvite(serializers.Serializer):
    code = serializers.CharField()
    inviterId = serializers.CharField(allow_null=True)
    inviterUsername = serializers.CharField()
    channelId = serializers.CharField(allow_null=True)
    uses = serializers.IntegerField()
    maxUses = serializers.IntegerField(help_text="0: unlimited")
    createdAt = serializers.DateTimeField(allow_null=True)
    expiresAt = serializers.DateTimeField(allow_null=True)


class InviteStats(serializers.Serializer):
    guildId = serializers.CharField()
    topInviters = Inviter(many=True)
    activeInvites = ActiveInvite(many=True, help_text="at most 100, most used first")
    vanityJoins = serializers.IntegerField(help_text="joins through the vanity URL")
    ambiguousJoins = serializers.IntegerField(
        help_text="joins the collector could not tell apart between several invites"
    )
    unknownJoins = serializers.IntegerField(help_text="joins whose invite is unknown")
    unattributedJoins = serializers.IntegerField(help_text="ambiguousJoins + unknownJoins")
    fakeAccountDays = serializers.IntegerField()


class GrowthDay(serializers.Serializer):
    day = serializers.DateField()
    joins = serializers.IntegerField()
    leaves = serializers.IntegerField()
    net = serializers.IntegerField()


class RetentionShare(serializers.Serializer):
    eligible = serializers.IntegerField(help_text="members whose first join is old enough")
    retained = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True)


class Retention(serializers.Serializer):
    day1 = RetentionShare()
    day7 = RetentionShare()
    day30 = RetentionShare()


class Totals(serializers.Serializer):
    joins = serializers.IntegerField()
    leaves = serializers.IntegerField()
    net = serializers.IntegerField()


class Growth(serializers.Serializer):
    guildId = serializers.CharField()
    days = GrowthDay(many=True)
    totals = Totals(help_text="all time")
    retention = Retention()
