"""Query parameters (validated: a bad value answers 400 naming the field) and response shapes
(for the OpenAPI schema) of the moderation API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from moderation.api.fields import InstantField, PageQuery, SnowflakeField
from moderation.models import Action


class CasesQuery(PageQuery):
    action = serializers.CharField(
        required=False, help_text=f"one of {', '.join(Action.values)} (any case)"
    )
    targetUserId = SnowflakeField(required=False)
    moderatorId = serializers.CharField(
        required=False, help_text="a user id, or `system` for actions without a moderator"
    )
    since = InstantField(required=False, help_text="ISO 8601 or epoch ms; inclusive")
    until = InstantField(required=False, help_text="ISO 8601 or epoch ms; exclusive")

    def validate_action(self, value: str) -> str:
        action = value.strip().upper()
        if action not in Action.values:
            raise serializers.ValidationError(f"must be one of {', '.join(Action.values)}.")
        return action

    def validate_moderatorId(self, value: str) -> int | str:
        if value.strip().lower() == "system":
            return "system"
        return SnowflakeField().to_internal_value(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since >= until:
            raise serializers.ValidationError({"until": ["must be after since."]})
        return attrs


class UserPath(serializers.Serializer):
    userId = SnowflakeField()


# --- responses (documentation) ---------------------------------------------------------------
class Case(serializers.Serializer):
    caseNumber = serializers.IntegerField()
    guildId = serializers.CharField()
    action = serializers.ChoiceField(choices=Action.values)
    targetUserId = serializers.CharField(allow_null=True)
    targetUsername = serializers.CharField()
    moderatorId = serializers.CharField(allow_null=True, help_text="null: a system action")
    moderatorUsername = serializers.CharField()
    reason = serializers.CharField()
    details = serializers.DictField()
    timestamp = serializers.DateTimeField()
    sources = serializers.ListField(
        child=serializers.ChoiceField(choices=("event", "audit")),
        help_text="what reported it: its own event, its audit-log entry, or both",
    )


class CasePagination(serializers.Serializer):
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    pageSize = serializers.IntegerField()
    totalPages = serializers.IntegerField()


class CasePage(serializers.Serializer):
    cases = Case(many=True)
    pagination = CasePagination()


class RecentCases(serializers.Serializer):
    cases = Case(many=True)


class Membership(serializers.Serializer):
    firstJoinedAt = serializers.DateTimeField(allow_null=True)
    lastJoinedAt = serializers.DateTimeField(allow_null=True)
    leftAt = serializers.DateTimeField(allow_null=True)
    joinCount = serializers.IntegerField()
    rejoinCount = serializers.IntegerField()
    leaveCount = serializers.IntegerField()
    isPresent = serializers.BooleanField()
    invitedBy = serializers.CharField(allow_null=True, help_text="inviter of the last join")
    inviteCode = serializers.CharField(allow_null=True)


class UserHistory(serializers.Serializer):
    guildId = serializers.CharField()
    userId = serializers.CharField()
    cases = Case(many=True)
    totals = serializers.DictField(child=serializers.IntegerField(), help_text="cases by action")
    casesAsModerator = serializers.IntegerField()
    membership = Membership(allow_null=True)
