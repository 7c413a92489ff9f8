"""Writes of the invites app: invites, joins and leaves, inviter accounting, growth per day.

Runs inside the processing transaction of a chunk (like the moderation cases), so the counts
commit with the batches' processed marks and equal a recount of the raw events.

Rules (docs/moderation.md, "Joins and invites"):

* A join is reported by GUILD_MEMBER_ADD and/or INVITE_USE; reports of the same member at most
  ``JOIN_WINDOW`` apart, with no leave in between, are one join. The first report creates it
  (and counts it in the lifecycle and the day's joins); later ones fill in what it lacks (the
  inviter, the code, the bot flag) and the join is re-classified. A report processed after the
  join's leave (a late INVITE_USE) still completes that join when the member was present at
  the report's time; the leave is then charged as if the join had been complete.
* A join through an inviter counts in the inviter's ``regular``. It is also a ``fake`` when the
  member invited themselves, when the account is younger than the guild's
  ``fake_account_days`` (``data.accountCreatedAt``, else the user id's snowflake time), or when
  the member was already credited to someone by an earlier join (a rejoin).
* A leave ends the member's open join; if that join was a regular (not fake) credited join, the
  inviter's ``leaves`` goes up.
* Vanity-URL joins are recorded as ``vanity`` and credited to nobody; so are bot accounts.
* A collector's ``inviteAttribution`` decides over the legacy fields: ``vanity`` is a vanity
  join, ``ambiguous`` (several invites' uses went up) an ``ambiguous`` join and ``unknown`` an
  ``unknown`` one, both credited to nobody; a later INVITE_USE of the same join still
  completes it (the join is then credited, its ``attribution`` keeps what the bot said).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from django.db.models import Q
from guildstats_contract.actions import (
    InviteCreateData,
    InviteDeleteData,
    InviteUseData,
    MemberAddData,
    MemberRemoveData,
)
from guildstats_contract.payloads import GuildStateData

from core.ids import int_or_none
from invites.models import (
    Invite,
    JoinKind,
    MemberJoin,
    MemberLifecycle,
)
from invites.services.accounting import (
    JOIN_WINDOW,
    Context,
    JoinReport,
    add_to_inviter,
    classify,
    count_use,
    credit,
    growth,
    lifecycle_join,
    name_inviter,
    uncredit,
)

if TYPE_CHECKING:
    from core.events import StoredEvent


def apply_invite_events(events: Sequence[StoredEvent]) -> None:
    """Apply invite and membership events (timestamp order).

    An event that fails (a value the database refuses, a bug) fails the call: processing
    (``pipeline.drain.apply_isolating``) rolls the chunk back to its savepoint,
    finds the failing event and quarantines it, so no half of it stays (an inviter
    uncredited, a join without its lifecycle) and the rest of the chunk commits."""
    ctx = Context({e.guild_id for e in events})
    for event in events:
        _HANDLERS[event.type](event, event.data or {}, ctx)


# --- invites ---------------------------------------------------------------------------------
def _invite_create(event: StoredEvent, raw: dict[str, Any], ctx: Context) -> None:
    data = msgspec.convert(raw, InviteCreateData, strict=True)
    invite, _ = Invite.objects.select_for_update().get_or_create(
        guild_id=event.guild_id, code=data.code
    )
    _describe(invite, data, event)


def _describe(invite: Invite, data: InviteCreateData, event: StoredEvent) -> None:
    """Set ``invite`` as Discord describes it (INVITE_CREATE, or a GUILD_STATE's list): live,
    its uses never lowered (each join attributed to it has counted one)."""
    created = data.created_at or event.timestamp
    expires = data.expires_at
    if expires is None and data.max_age > 0:
        expires = created + timedelta(seconds=data.max_age)
    invite.inviter_id = int_or_none(data.inviter_id) or invite.inviter_id
    invite.inviter_username = data.inviter_username or invite.inviter_username
    invite.channel_id = int_or_none(data.channel_id) or event.channel_id or invite.channel_id
    invite.max_uses = data.max_uses
    invite.max_age = data.max_age
    invite.temporary = data.temporary
    invite.uses = max(invite.uses, data.uses)
    invite.invite_created_at = created
    invite.expires_at = expires
    invite.deleted_at = None
    invite.save()
    if invite.inviter_id is not None:
        name_inviter(event.guild_id, invite.inviter_id, invite.inviter_username)


def _guild_state(event: StoredEvent, raw: dict[str, Any], ctx: Context) -> None:
    """A GUILD_STATE's invite list is the guild's whole list at its time: every listed invite
    is stored (uses from before guildstats saw it are shown on the invite and credited to no
    inviter: credits come only from joins), and a live invite it does not list, created before
    it, was deleted meanwhile."""
    data = msgspec.convert(raw, GuildStateData, strict=True)
    if data.invites is None:
        return
    listed = {invite.code: invite for invite in data.invites}
    known = {
        invite.code: invite
        for invite in Invite.objects.select_for_update().filter(
            guild_id=event.guild_id, code__in=list(listed)
        )
    }
    for code in sorted(listed):
        invite = known.get(code) or Invite(guild_id=event.guild_id, code=code)
        _describe(invite, listed[code], event)
    Invite.objects.filter(guild_id=event.guild_id, deleted_at__isnull=True).exclude(
        code__in=list(listed)
    ).filter(Q(invite_created_at__isnull=True) | Q(invite_created_at__lte=event.timestamp)).update(
        deleted_at=event.timestamp
    )


def _invite_delete(event: StoredEvent, raw: dict[str, Any], ctx: Context) -> None:
    data = msgspec.convert(raw, InviteDeleteData, strict=True)
    invite, _ = Invite.objects.get_or_create(guild_id=event.guild_id, code=data.code)
    invite.deleted_at = event.timestamp
    invite.channel_id = invite.channel_id or int_or_none(data.channel_id) or event.channel_id
    invite.save()


def _invite_use(event: StoredEvent, raw: dict[str, Any], ctx: Context) -> None:
    data = msgspec.convert(raw, InviteUseData, strict=True)
    vanity = data.vanity
    report = JoinReport(
        guild_id=event.guild_id,
        user_id=int(data.new_member_id),
        timestamp=event.timestamp,
        source="invite_use",
        event_id=event.id,
        username=data.new_member_username,
        inviter_id=None if vanity else int_or_none(data.inviter_id),
        inviter_username="" if vanity else data.inviter_username or "",
        code=data.code,
        vanity=vanity,
        account_created_at=_account_time(data.account_created_at),
    )
    _record_join(report, ctx)  # counts the use once per join (with GUILD_MEMBER_ADD's report)
    if not vanity:  # then Discord's own count, when the bot sent it, may only raise ours
        invite, _ = Invite.objects.get_or_create(guild_id=event.guild_id, code=data.code)
        changed = False
        if invite.inviter_id is None and report.inviter_id is not None:
            invite.inviter_id, invite.inviter_username = report.inviter_id, report.inviter_username
            changed = True
        if data.max_uses is not None and data.max_uses != invite.max_uses:
            invite.max_uses, changed = data.max_uses, True
        if data.uses is not None and data.uses > invite.uses:
            invite.uses, changed = data.uses, True
        if changed:
            invite.save()


# --- joins and leaves ------------------------------------------------------------------------
def _member_add(event: StoredEvent, raw: dict[str, Any], ctx: Context) -> None:
    data = msgspec.convert(raw, MemberAddData, strict=True)
    attribution = data.invite_attribution  # the collector's verdict; None: a legacy bot
    if attribution is None:
        vanity = data.vanity or (data.invite_type or "").lower() == "vanity"
    else:
        vanity = attribution == "vanity"
    # an ambiguous or unknown attribution is credited to nobody, whatever else it carries
    credited = attribution in (None, "invite") and not vanity
    user_id = event.user_id if event.user_id is not None else int(data.user_id or 0)
    _record_join(
        JoinReport(
            guild_id=event.guild_id,
            user_id=user_id,
            timestamp=event.timestamp,
            source="member_add",
            event_id=event.id,
            username=data.username,
            inviter_id=int_or_none(data.inviter_id) if credited else None,
            inviter_username=(data.inviter_username or "") if credited else "",
            code=(data.invite_code or ("vanity" if vanity else "")) if credited or vanity else "",
            vanity=vanity,
            bot=data.bot or event.bot,
            account_created_at=_account_time(data.account_created_at),
            attribution=attribution or "",
            attribution_reason=data.attribution_reason or "",
            candidates=list(data.invite_candidates or []) if attribution == "ambiguous" else [],
        ),
        ctx,
    )


def _record_join(report: JoinReport, ctx: Context) -> None:
    """Create the join this report describes, or complete the one another report created:
    a join at most JOIN_WINDOW from the report and not ended before it (open, or left at or
    after the report's time: a report processed after the leave), the nearest in time."""
    candidates = (
        MemberJoin.objects.select_for_update()
        .filter(
            guild_id=report.guild_id,
            user_id=report.user_id,
            joined_at__gte=report.timestamp - JOIN_WINDOW,
            joined_at__lte=report.timestamp + JOIN_WINDOW,
        )
        .filter(Q(left_at__isnull=True) | Q(left_at__gte=report.timestamp))
    )
    join = min(
        candidates,
        key=lambda j: (abs(j.joined_at - report.timestamp), -j.joined_at.timestamp()),
        default=None,
    )
    source_field = f"{report.source}_event_id"
    if join is not None:
        if getattr(join, source_field) is not None:
            return  # the same join reported twice by the same source
        uncredit(join)
        setattr(join, source_field, report.event_id)
        join.username = join.username or report.username
        if report.vanity:
            join.kind = JoinKind.VANITY
        if report.attribution and not join.attribution:
            join.attribution = report.attribution
            join.attribution_reason = report.attribution_reason
            join.invite_candidates = report.candidates
        if join.inviter_id is None and not join.invite_code and (report.inviter_id or report.code):
            join.inviter_id, join.inviter_username = report.inviter_id, report.inviter_username
            join.invite_code = report.code
            count_use(join)
        join.is_bot = join.is_bot or bool(report.bot)
        join.account_created_at = join.account_created_at or report.account_created_at
        classify(join, ctx)
        if join.left_at is not None:  # already left: charge the leave as _member_remove does
            join.leave_counted = join.credited and join.kind == JoinKind.REGULAR
        credit(join)
        join.save()
        return

    join = MemberJoin(
        guild_id=report.guild_id,
        user_id=report.user_id,
        username=report.username,
        joined_at=report.timestamp,
        inviter_id=report.inviter_id,
        inviter_username=report.inviter_username,
        invite_code=report.code,
        kind=JoinKind.VANITY if report.vanity else JoinKind.UNKNOWN,
        is_bot=bool(report.bot),
        account_created_at=report.account_created_at,
        attribution=report.attribution,
        attribution_reason=report.attribution_reason,
        invite_candidates=report.candidates,
    )
    setattr(join, source_field, report.event_id)
    classify(join, ctx)
    credit(join)
    if join.invite_code:
        count_use(join)
    join.save()
    lifecycle_join(report)
    growth(report.guild_id, ctx.day(report.guild_id, report.timestamp), joins=1)


def _member_remove(event: StoredEvent, raw: dict[str, Any], ctx: Context) -> None:
    data = msgspec.convert(raw, MemberRemoveData, strict=True)
    user_id = event.user_id if event.user_id is not None else int(data.user_id or 0)
    member = (
        MemberLifecycle.objects.select_for_update()
        .filter(guild_id=event.guild_id, user_id=user_id)
        .first()
    )
    if (
        member is not None
        and not member.is_present
        and member.left_at is not None
        and abs(member.left_at - event.timestamp) <= JOIN_WINDOW
    ):
        return  # the same leave reported twice
    if member is None:  # joined before we tracked the guild
        member = MemberLifecycle(
            guild_id=event.guild_id,
            user_id=user_id,
            first_joined_at=data.joined_at,
            last_joined_at=data.joined_at,
            join_count=0,
        )
    member.username = data.username or member.username
    member.left_at = event.timestamp
    member.leave_count += 1
    member.is_present = False
    member.save()
    growth(event.guild_id, ctx.day(event.guild_id, event.timestamp), leaves=1)

    join = (
        MemberJoin.objects.select_for_update()
        .filter(
            guild_id=event.guild_id,
            user_id=user_id,
            left_at__isnull=True,
            joined_at__lte=event.timestamp,
        )
        .order_by("-joined_at")
        .first()
    )
    if join is None:
        return
    join.left_at = event.timestamp
    if join.credited and join.kind == JoinKind.REGULAR:
        join.leave_counted = True
        add_to_inviter(join, leaves=1)
    join.save()


# --- helpers ---------------------------------------------------------------------------------
def _account_time(value: datetime | int | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(value / 1000, tz=UTC)  # epoch milliseconds


_HANDLERS = {
    "INVITE_CREATE": _invite_create,
    "INVITE_DELETE": _invite_delete,
    "INVITE_USE": _invite_use,
    "GUILD_MEMBER_ADD": _member_add,
    "GUILD_MEMBER_REMOVE": _member_remove,
    "GUILD_STATE": _guild_state,
}
