"""Query parameters (validated: a bad value answers 400 naming the field) and response shapes
(for the OpenAPI schema) of the moderation API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from guilds.api.fields import SNOWFLAKE_PATTERN
from moderation.api.fields import InstantField, PageQuery, SnowflakeField
from moderation.models import Action


@extend_schema_field(
    {"type": "string", "enum": list(Action.values), "description": "an action (any case)"}
)
class ActionField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        action = super().to_internal_value(data).upper()
        if action not in Action.values:
            raise serializers.ValidationError(f"must be one of {', '.join(Action.values)}.")
        return action


@extend_schema_field(
    {
        "type": "string",
        "pattern": f"^(?:system|{SNOWFLAKE_PATTERN[1:-1]})$",
        "description": "a user id, or `system` (any case) for actions without a moderator",
    }
)
class ModeratorField(SnowflakeField):
    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, str) and data.lower() == "system":
            return "system"
        return super().to_internal_value(data)


class CasesQuery(PageQuery):
    action = ActionField(required=False)
    targetUserId = SnowflakeField(required=False)
    moderatorId = ModeratorField(required=False)
    since = InstantField(required=False, help_text=f"{InstantField.HELP}; inclusive")
    until = InstantField(required=False, help_text=f"{InstantField.HELP}; exclusive, after since")

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
