"""Who held which role when (``RoleSpan``): a member's role set at a time opens spans for the
roles they gained and closes those of the roles they lost; leaving the guild, or the role's
deletion, closes them. Collected per chunk and written at its end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from directory.models import RoleSpan


@dataclass
class RoleChanges:
    open: dict[tuple[int, int], dict[int, RoleSpan]] = field(default_factory=dict)
    new: list[RoleSpan] = field(default_factory=list)
    closed: list[RoleSpan] = field(default_factory=list)

    def _spans(self, guild: int, user: int) -> dict[int, RoleSpan]:
        key = (guild, user)
        if key not in self.open:
            self.open[key] = {
                span.role_id: span
                for span in RoleSpan.objects.filter(guild_id=guild, user_id=user, until=None)
            }
        return self.open[key]

    def preload(self, guild: int, users: list[int]) -> None:
        """The open spans of many members in one query (a snapshot chunk's)."""
        missing = [u for u in users if (guild, u) not in self.open]
        for user in missing:
            self.open[(guild, user)] = {}
        for span in RoleSpan.objects.filter(guild_id=guild, user_id__in=missing, until=None):
            self.open[(guild, span.user_id)][span.role_id] = span

    def set_roles(self, guild: int, user: int, roles: set[int], at: datetime) -> None:
        held = self._spans(guild, user)
        for role in set(held) - roles:
            self._close(held.pop(role), at)
        for role in roles - set(held):
            span = RoleSpan(guild_id=guild, user_id=user, role_id=role, since=at)
            held[role] = span
            self.new.append(span)

    def member_left(self, guild: int, user: int, at: datetime) -> None:
        self.set_roles(guild, user, set(), at)

    def role_deleted(self, guild: int, role: int, at: datetime) -> None:
        for span in RoleSpan.objects.filter(guild_id=guild, role_id=role, until=None):
            held = self._spans(guild, span.user_id)
            if role in held:
                self._close(held.pop(role), at)

    def _close(self, span: RoleSpan, at: datetime) -> None:
        span.until = max(at, span.since)
        if span.pk is not None:
            self.closed.append(span)

    def flush(self) -> None:
        if self.closed:
            RoleSpan.objects.bulk_update(self.closed, ["until"], batch_size=1000)
        if self.new:
            # the same role given and taken within one instant leaves a span of no length
            RoleSpan.objects.bulk_create(self.new, batch_size=1000, ignore_conflicts=True)
