"""The moderation app's part of erasing a member (registered with ``core.registry.on_erase``
and called by privacy's erase, in its transaction)."""

from __future__ import annotations

from core.scrub import ERASED, scrub, scrub_rows
from moderation.models import ModerationCase


def erase_member_cases(guild_id: int, user_id: int) -> dict[str, int]:
    """Cases keep their number, action and time; the member's id, name and free text go (the
    target becomes null and ``details`` says ``{"erased": "target"}``)."""
    cases = ModerationCase.objects.filter(guild_id=guild_id)
    targeted = cases.filter(target_user_id=user_id).update(
        target_user_id=None, target_username="", reason="", details={ERASED: "target"}, raw={}
    )
    moderated = 0
    for case in cases.filter(moderator_id=user_id).only("pk", "details", "raw", "reason"):
        details = scrub(case.details, user_id) or {}
        cases.filter(pk=case.pk).update(
            moderator_id=None,
            moderator_username="",
            details={**details, "moderatorErased": True},
            raw=scrub(case.raw, user_id),
            reason=scrub(case.reason, user_id) or "",
        )
        moderated += 1
    named = scrub_rows(cases, ("details", "raw", "reason"), user_id)
    return {"cases_as_target": targeted, "cases_as_moderator": moderated, "cases_scrubbed": named}
