"""Add and remove opt-outs (members a guild does not track), each recorded in the audit.

Ingest reads the lists through its cache (``privacy.selectors``); a change drops the
guild's cached list once it commits, so the next frame sees it."""

from __future__ import annotations

from django.db import transaction

from privacy.models import MemberOptOut, PrivacyAudit
from privacy.selectors import forget_opt_outs


def add_opt_out(guild_id: int, user_id: int, *, actor: str) -> MemberOptOut:
    """Stop tracking the member (their events are refused at ingest from now on). Adding an
    existing opt-out changes nothing and records nothing."""
    with transaction.atomic():
        opt_out, created = MemberOptOut.objects.get_or_create(guild_id=guild_id, user_id=user_id)
        if created:
            _audit(PrivacyAudit.OPT_OUT, guild_id, user_id, actor)
            transaction.on_commit(lambda: forget_opt_outs(guild_id))
    return opt_out


def remove_opt_out(guild_id: int, user_id: int, *, actor: str) -> bool:
    """Track the member again; False when they had not opted out."""
    with transaction.atomic():
        removed = MemberOptOut.objects.filter(guild_id=guild_id, user_id=user_id).delete()[0]
        if removed:
            _audit(PrivacyAudit.OPT_IN, guild_id, user_id, actor)
            transaction.on_commit(lambda: forget_opt_outs(guild_id))
    return bool(removed)


def _audit(action: str, guild_id: int, user_id: int, actor: str) -> None:
    PrivacyAudit.objects.create(
        actor=actor[:150], action=action, guild_id=guild_id, user_id=user_id
    )
