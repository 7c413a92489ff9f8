"""Reads of the invites app: top inviters, active invites, a member's membership, growth and
retention."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)

from core.times import iso
from directory.selectors import MemberName, member_names
from invites.models import (
    GuildGrowthDaily,
    Invite,
    InviterStats,
    InviteSettings,
    JoinKind,
    MemberJoin,
    MemberLifecycle,
)
from invites.services.accounting import default_fake_account_days
from invites.shapes import (
    ActiveInvite,
    GrowthDay,
    GrowthTotals,
    Inviter,
    InviteStats,
    Membership,
    Retention,
    RetentionShare,
)
from stats.models import MemberStats

ACTIVE_INVITES_LIMIT = 100
RETENTION_DAYS = (1, 7, 30)


def top_inviters(guild_id: int, limit: int) -> list[Inviter]:
    """Inviters by total (regular + bonus - leaves - fakes), then regular, then id."""
    rows = (
        InviterStats.objects.filter(guild_id=guild_id)
        .annotate(score=F("regular") + F("bonus") - F("leaves") - F("fakes"))
        .order_by("-score", "-regular", "inviter_id")[:limit]
    )
    names = member_names(guild_id, (r.inviter_id for r in rows))
    return [
        {
            "inviterId": str(r.inviter_id),
            "inviterUsername": r.inviter_username,
            "inviterName": _name(names, r.inviter_id, r.inviter_username),
            "regular": r.regular,
            "leaves": r.leaves,
            "fakes": r.fakes,
            "bonus": r.bonus,
            "total": r.score,
        }
        for r in rows
    ]


def active_invite_filter(now: datetime) -> Q:
    """Not deleted, not expired, not used up."""
    return (
        Q(deleted_at__isnull=True)
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        & (Q(max_uses=0) | Q(uses__lt=F("max_uses")))
    )


def active_invites_query(guild_id: int, now: datetime) -> QuerySet[Invite]:
    return (
        Invite.objects.filter(guild_id=guild_id)
        .filter(active_invite_filter(now))
        .order_by("-uses", "code")
    )


def active_invites(guild_id: int, now: datetime) -> list[ActiveInvite]:
    found = list(active_invites_query(guild_id, now)[:ACTIVE_INVITES_LIMIT])
    names = member_names(guild_id, (i.inviter_id for i in found if i.inviter_id is not None))
    return [
        {
            "code": i.code,
            "inviterId": None if i.inviter_id is None else str(i.inviter_id),
            "inviterUsername": i.inviter_username,
            "inviterName": _name(names, i.inviter_id, i.inviter_username),
            "channelId": None if i.channel_id is None else str(i.channel_id),
            "uses": i.uses,
            "maxUses": i.max_uses,
            "createdAt": iso(i.invite_created_at),
            "expiresAt": iso(i.expires_at),
        }
        for i in found
    ]


def invite_stats(guild_id: int, *, limit: int, now: datetime) -> InviteStats:
    joins = MemberJoin.objects.filter(guild_id=guild_id).aggregate(
        vanity=Count("id", filter=Q(kind=JoinKind.VANITY)),
        ambiguous=Count("id", filter=Q(kind=JoinKind.AMBIGUOUS)),
        unknown=Count("id", filter=Q(kind=JoinKind.UNKNOWN)),
    )
    setting = InviteSettings.objects.filter(guild_id=guild_id).first()
    return {
        "guildId": str(guild_id),
        "topInviters": top_inviters(guild_id, limit),
        "activeInvites": active_invites(guild_id, now),
        "vanityJoins": joins["vanity"],
        "ambiguousJoins": joins["ambiguous"],
        "unknownJoins": joins["unknown"],
        "unattributedJoins": joins["ambiguous"] + joins["unknown"],
        "fakeAccountDays": setting.fake_account_days if setting else default_fake_account_days(),
    }


def membership(guild_id: int, user_id: int) -> Membership | None:
    """A member's joins and leaves, and who invited them the last time they joined."""
    member = MemberLifecycle.objects.filter(guild_id=guild_id, user_id=user_id).first()
    if member is None:
        return None
    last = (
        MemberJoin.objects.filter(guild_id=guild_id, user_id=user_id).order_by("-joined_at").first()
    )
    return {
        "firstJoinedAt": iso(member.first_joined_at),
        "lastJoinedAt": iso(member.last_joined_at),
        "leftAt": iso(member.left_at),
        "joinCount": member.join_count,
        "rejoinCount": member.rejoin_count,
        "leaveCount": member.leave_count,
        "isPresent": member.is_present,
        "invitedBy": str(last.inviter_id) if last and last.inviter_id else None,
        "inviteCode": (last.invite_code or None) if last else None,
    }


def growth(guild_id: int, since: date, until: date) -> list[GrowthDay]:
    """Joins, leaves and net per day in [since, until], zero-filled (days are the guild's)."""
    rows = {
        r.day: r
        for r in GuildGrowthDaily.objects.filter(guild_id=guild_id, day__gte=since, day__lte=until)
    }
    out: list[GrowthDay] = []
    day = since
    while day <= until:
        row = rows.get(day)
        joins, leaves = (row.joins, row.leaves) if row else (0, 0)
        out.append(
            {"day": day.isoformat(), "joins": joins, "leaves": leaves, "net": joins - leaves}
        )
        day += timedelta(days=1)
    return out


def retention(guild_id: int, now: datetime) -> Retention:
    """For N in 1, 7, 30: of the members whose join we saw and whose first join here is at
    least N days old, the share still present now and active (seen: message, voice or
    reaction) N days or more after that first join. ``share`` is null when no member is old
    enough. One aggregate query (a member_stats subquery per N), nothing loaded per member."""
    aggregates: dict[str, Any] = {}
    for days in RETENTION_DAYS:
        old_enough = Q(first_joined_at__lte=now - timedelta(days=days))
        seen_after = Exists(
            MemberStats.objects.filter(
                guild_id=OuterRef("guild_id"),
                user_id=OuterRef("user_id"),
                last_seen__gte=ExpressionWrapper(
                    OuterRef("first_joined_at") + timedelta(days=days),
                    output_field=DateTimeField(),
                ),
            )
        )
        aggregates[f"eligible{days}"] = Count("pk", filter=old_enough)
        aggregates[f"retained{days}"] = Count(
            "pk", filter=old_enough & Q(is_present=True) & Q(seen_after)
        )
    # a lifecycle row created by a leave alone (join_count 0: joined before we tracked the
    # guild) has no first join we saw: it is no one's cohort
    counts = MemberLifecycle.objects.filter(
        guild_id=guild_id, join_count__gt=0, first_joined_at__isnull=False
    ).aggregate(**aggregates)

    def share(days: int) -> RetentionShare:
        eligible, retained = counts[f"eligible{days}"], counts[f"retained{days}"]
        return {
            "eligible": eligible,
            "retained": retained,
            "share": round(retained / eligible, 4) if eligible else None,
        }

    return {"day1": share(1), "day7": share(7), "day30": share(30)}


def totals(guild_id: int) -> GrowthTotals:
    agg = GuildGrowthDaily.objects.filter(guild_id=guild_id).aggregate(
        joins=Sum("joins"), leaves=Sum("leaves")
    )
    joins, leaves = agg["joins"] or 0, agg["leaves"] or 0
    return {"joins": joins, "leaves": leaves, "net": joins - leaves}


def with_first_join(rows: QuerySet[MemberStats]) -> QuerySet[MemberStats]:
    """The members list's ``joinedAt`` (registered with ``core.registry.on_member_rows``): the
    member's first join as the lifecycle saw it (GUILD_MEMBER_ADD, or a leave's joinedAt for
    members who joined before the guild was tracked); a subquery per listed row."""
    first_join = MemberLifecycle.objects.filter(
        guild_id=OuterRef("guild_id"), user_id=OuterRef("user_id")
    ).values("first_joined_at")[:1]
    return rows.annotate(first_join=Subquery(first_join))


def _name(names: dict[int, MemberName], user_id: int | None, username: str) -> str | None:
    known = names.get(user_id) if user_id is not None else None
    return (known and known["displayName"]) or username or None
