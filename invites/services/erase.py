"""The invites app's part of erasing a member (registered with ``core.registry.on_erase`` and
called by privacy's erase, in its transaction): their joins and lifecycle, their inviter
counts, and their name on the invites and joins they brought."""

from __future__ import annotations

from django.db.models import Q

from invites.models import Invite, InviterStats, MemberJoin, MemberLifecycle


def erase_member_invites(guild_id: int, user_id: int) -> dict[str, int]:
    member = Q(guild_id=guild_id, user_id=user_id)
    report = {
        "member_joins": MemberJoin.objects.filter(member).delete()[0],
        "member_lifecycle": MemberLifecycle.objects.filter(member).delete()[0],
        "inviter_stats": InviterStats.objects.filter(
            guild_id=guild_id, inviter_id=user_id
        ).delete()[0],
    }
    inviter = Q(guild_id=guild_id, inviter_id=user_id)
    report["invites_unlinked"] = Invite.objects.filter(inviter).update(
        inviter_id=None, inviter_username=""
    )
    report["joins_unlinked"] = MemberJoin.objects.filter(inviter).update(
        inviter_id=None, inviter_username=""
    )
    return report
