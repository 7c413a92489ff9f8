"""The pipeline's part of erasing a member (registered in ``PipelineConfig.ready()``): the
transaction and the guild's processing-shard lock around every eraser, so that no chunk of the
guild is applied halfway through an erasure; and the member's raw and quarantined events, with
their id taken out of other members' events that name them (a reaction to their message, a bulk
delete of their messages, a bot snapshot's maps)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.models import Q

from core.scrub import scrub_rows
from core.sql import try_lock
from pipeline.drain import shard_lock_key
from pipeline.models import Event, QuarantinedEvent


@contextmanager
def shard_transaction(guild_id: int, user_id: int, report: dict[str, Any]) -> Iterator[None]:
    with transaction.atomic():
        try_lock(shard_lock_key(guild_id), wait=True)
        yield


def erase_member_events(guild_id: int, user_id: int) -> dict[str, int]:
    member = Q(guild_id=guild_id, user_id=user_id)
    in_guild = Q(guild_id=guild_id)
    return {
        "events": Event.objects.filter(member).delete()[0],
        "quarantined_events": QuarantinedEvent.objects.filter(member).delete()[0],
        "events_scrubbed": scrub_rows(Event.objects.filter(in_guild), ("data",), user_id),
        "quarantined_scrubbed": scrub_rows(
            QuarantinedEvent.objects.filter(in_guild), ("data",), user_id
        ),
    }
