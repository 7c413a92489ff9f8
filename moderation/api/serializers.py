"""Query parameters of the moderation API (validated: a bad value answers 400 naming the
field); its answers' shapes are moderation.shapes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from guilds.api.fields import SNOWFLAKE_PATTERN, SnowflakeText
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
class ModeratorField(SnowflakeText):
    # DRF's stubs fix a CharField's value as str: this one's is an id or "system"
    def to_internal_value(self, data: Any) -> int | str:  # type: ignore[override]
        if isinstance(data, str) and data.lower() == "system":
            return "system"
        return self.snowflake(data)


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


class UserPath(serializers.Serializer[None]):
    userId = SnowflakeField()
