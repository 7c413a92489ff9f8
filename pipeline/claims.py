"""At most one queued drain task per processing shard.

Under load every frame would otherwise enqueue one task per shard it touches, although one queued
task drains everything pending in its shard. A claim is a Redis key set with SET NX by the
enqueuer and deleted by the task when it starts, so a batch committed while a drain runs
still gets a task of its own, and a lost task's claim expires (the sweeper covers the gap).

Claims need a store shared by the web and worker processes. Without Redis (the embedded mode,
one machine, light load) every batch simply gets its task.
"""

from __future__ import annotations

import logging
from functools import cache

import redis
from django.conf import settings

from core.redis import redis_client

log = logging.getLogger(__name__)

CLAIM_SECONDS = 30


def _key(shard: int) -> str:
    return f"guildstats:drain-queued:{shard}"


@cache
def _client(url: str) -> redis.Redis:
    # One connection pool per process (redis-py is fork-unsafe only for connections in use).
    return redis_client(url)


def claim_drains(shards: list[int]) -> list[bool]:
    """For each shard, whether the caller should enqueue a drain task (one round trip)."""
    if not settings.REDIS_URL:
        return [True] * len(shards)
    try:
        pipe = _client(settings.REDIS_URL).pipeline(transaction=False)
        for shard in shards:
            pipe.set(_key(shard), 1, nx=True, ex=CLAIM_SECONDS)
        return [bool(claimed) for claimed in pipe.execute()]
    except (redis.RedisError, OSError, ValueError):
        # claims only save work: without them every shard gets its task, which is safe
        log.warning("drain claims unavailable; enqueueing without them", exc_info=True)
        return [True] * len(shards)


def release_drain(shard: int) -> None:
    if settings.REDIS_URL:
        try:
            _client(settings.REDIS_URL).delete(_key(shard))
        except (redis.RedisError, OSError, ValueError):
            log.warning("could not release drain claim of shard %s", shard, exc_info=True)
