"""Inviter accounting, member lifecycle and growth per day, for the joins and leaves that
``joins`` records (see its rules)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F, Value
from django.db.models.functions import Least

from core.env import env_int
from guilds.selectors import counting_settings
from invites.models import (
    FakeReason,
    GuildGrowthDaily,
    Invite,
    InviterStats,
    InviteSettings,
    JoinKind,
    MemberJoin,
    MemberLifecycle,
)

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)
INT_MAX = 2**31 - 1  # integer columns

# GUILD_MEMBER_ADD and INVITE_USE of one join are sent together by the bot (seed 001, example
# 3); a minute leaves room for a slow invite fetch without merging two joins (a member cannot
# rejoin without a leave in between, and a leave closes the join).
JOIN_WINDOW = timedelta(seconds=60)
DISCORD_EPOCH_MS = 1_420_070_400_000
DEFAULT_FAKE_ACCOUNT_DAYS = env_int("GUILDSTATS_INVITE_FAKE_ACCOUNT_DAYS", 7)


def default_fake_account_days() -> int:
    """``GUILDSTATS["INVITE_FAKE_ACCOUNT_DAYS"]`` when set (tests), else the environment."""
    return int(settings.GUILDSTATS.get("INVITE_FAKE_ACCOUNT_DAYS", DEFAULT_FAKE_ACCOUNT_DAYS))


def snowflake_time(user_id: int) -> datetime:
    """When a Discord id was created: its top 42 bits are milliseconds since 2015."""
    return datetime.fromtimestamp(((user_id >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)


@dataclass
class JoinReport:
    guild_id: int
    user_id: int
    timestamp: datetime
    source: str  # "member_add" | "invite_use"
    event_id: int
    username: str = ""
    inviter_id: int | None = None
    inviter_username: str = ""
    code: str = ""
    vanity: bool = False
    bot: bool | None = None  # None: the report does not say
    account_created_at: datetime | None = None
    attribution: str = ""  # GUILD_MEMBER_ADD's inviteAttribution ("": not said)
    attribution_reason: str = ""
    candidates: list[str] = field(default_factory=list)


class Context:
    """Per-chunk caches: guild settings (time zone, fake threshold)."""

    def __init__(self, guild_ids: set[int]) -> None:
        found = counting_settings(guild_ids)
        self.zones: dict[int, ZoneInfo] = {g: s.tz for g, s in found.items()}
        self.fake_days = dict(
            InviteSettings.objects.filter(guild_id__in=guild_ids).values_list(
                "guild_id", "fake_account_days"
            )
        )
        self.default_days = default_fake_account_days()

    def day(self, guild_id: int, at: datetime) -> date:
        zone = self.zones.get(guild_id)
        return at.astimezone(zone).date() if zone is not None else at.astimezone(UTC).date()

    def fake_threshold(self, guild_id: int) -> timedelta:
        return timedelta(days=self.fake_days.get(guild_id, self.default_days))


# --- accounting ------------------------------------------------------------------------------
def classify(join: MemberJoin, ctx: Context) -> None:
    """Decide the join's kind from what is known of it now."""
    join.fake_reason = FakeReason.NONE
    if join.kind == JoinKind.VANITY:
        join.inviter_id = None
        return
    if join.is_bot:
        join.kind = JoinKind.BOT
        return
    if join.inviter_id is None:
        ambiguous = join.attribution == JoinKind.AMBIGUOUS
        join.kind = JoinKind.AMBIGUOUS if ambiguous else JoinKind.UNKNOWN
        return
    join.kind = JoinKind.FAKE
    if join.inviter_id == join.user_id:
        join.fake_reason = FakeReason.SELF_INVITE
        return
    earlier = MemberJoin.objects.filter(
        guild_id=join.guild_id,
        user_id=join.user_id,
        joined_at__lt=join.joined_at,
        inviter_id__isnull=False,
        kind__in=(JoinKind.REGULAR, JoinKind.FAKE),
    )
    if join.pk is not None:
        earlier = earlier.exclude(pk=join.pk)
    if earlier.exists():
        join.fake_reason = FakeReason.REJOIN
        return
    created = join.account_created_at or snowflake_time(join.user_id)
    if join.joined_at - created < ctx.fake_threshold(join.guild_id):
        join.fake_reason = FakeReason.YOUNG_ACCOUNT
        return
    join.kind = JoinKind.REGULAR


def credit(join: MemberJoin) -> None:
    if join.credited:
        add_to_inviter(join, regular=1, fakes=1 if join.kind == JoinKind.FAKE else 0)
        if join.leave_counted:
            add_to_inviter(join, leaves=1)


def uncredit(join: MemberJoin) -> None:
    """Take back what ``join`` counted, before it is re-classified and counted again."""
    if join.credited:
        add_to_inviter(join, regular=-1, fakes=-1 if join.kind == JoinKind.FAKE else 0)
        if join.leave_counted:
            add_to_inviter(join, leaves=-1)


def add_to_inviter(join: MemberJoin, *, regular: int = 0, leaves: int = 0, fakes: int = 0) -> None:
    assert join.inviter_id is not None  # noqa: S101 - callers pass credited joins only
    row, _ = InviterStats.objects.get_or_create(
        guild_id=join.guild_id,
        inviter_id=join.inviter_id,
        defaults={"inviter_username": join.inviter_username},
    )
    InviterStats.objects.filter(pk=row.pk).update(
        regular=F("regular") + regular, leaves=F("leaves") + leaves, fakes=F("fakes") + fakes
    )
    if join.inviter_username and row.inviter_username != join.inviter_username:
        InviterStats.objects.filter(pk=row.pk).update(inviter_username=join.inviter_username)


def name_inviter(guild_id: int, inviter_id: int, username: str) -> None:
    if username:
        InviterStats.objects.filter(guild_id=guild_id, inviter_id=inviter_id).update(
            inviter_username=username
        )


def count_use(join: MemberJoin) -> None:
    """A join attributed to a code uses it once (INVITE_USE's ``uses`` may raise it more)."""
    if join.kind == JoinKind.VANITY or not join.invite_code:
        return
    updated = Invite.objects.filter(guild_id=join.guild_id, code=join.invite_code).update(
        # saturates at the column's maximum (Discord's ``uses`` may have put it there)
        uses=Least(F("uses"), Value(INT_MAX - 1)) + 1
    )
    if not updated:
        Invite.objects.create(
            guild_id=join.guild_id,
            code=join.invite_code,
            inviter_id=join.inviter_id,
            inviter_username=join.inviter_username,
            uses=1,
        )


def lifecycle_join(report: JoinReport) -> None:
    member, created = MemberLifecycle.objects.select_for_update().get_or_create(
        guild_id=report.guild_id,
        user_id=report.user_id,
        defaults={"first_joined_at": report.timestamp, "username": report.username},
    )
    if not created and (member.join_count or member.leave_count):
        member.rejoin_count += 1  # seen before (joined, or left after an untracked join)
    if member.first_joined_at is None or member.first_joined_at > report.timestamp:
        member.first_joined_at = report.timestamp
    member.last_joined_at = report.timestamp
    member.join_count += 1
    member.is_present = True
    member.username = report.username or member.username
    member.save()


def growth(guild_id: int, day: date, *, joins: int = 0, leaves: int = 0) -> None:
    row, _ = GuildGrowthDaily.objects.get_or_create(guild_id=guild_id, day=day)
    GuildGrowthDaily.objects.filter(pk=row.pk).update(
        joins=F("joins") + joins, leaves=F("leaves") + leaves
    )
