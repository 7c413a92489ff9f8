"""Our Redis clients (drain claims, locks, /health).

redis-py 8 probes every new connection with ``CLIENT MAINT_NOTIFICATIONS`` (a Redis 8 cluster
feature) unless told not to; against this Redis 7 the probe sometimes lost the connection when
several threads connected at once (seen as "I/O operation on closed file" in the ingest
benchmark). We use no maintenance notifications: the probe is off.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.maint_notifications import MaintNotificationsConfig

NO_MAINT_NOTIFICATIONS = {"maint_notifications_config": MaintNotificationsConfig(enabled=False)}


def redis_client(url: str, **options: Any) -> redis.Redis:
    return redis.Redis.from_url(url, **NO_MAINT_NOTIFICATIONS, **options)
