"""Privacy's eraser for the directory: the member's names, avatar and role history (their raw
directory events are the pipeline's: deleted, or scrubbed out of other events' data)."""

from __future__ import annotations

from directory.models import Member, RoleSpan


def erase_member_names(guild_id: int, user_id: int) -> dict[str, int]:
    member = {"guild_id": guild_id, "user_id": user_id}
    return {
        "directory_members": Member.objects.filter(**member).delete()[0],
        "directory_role_spans": RoleSpan.objects.filter(**member).delete()[0],
    }
