"""Our Redis clients (drain claims, locks, /health).

redis-py 8 probes every new connection with ``CLIENT MAINT_NOTIFICATIONS`` (a Redis 8 cluster
feature) unless told not to; against this Redis 7 the probe sometimes lost the connection when
several threads connected at once (seen as "I/O operation on closed file" in the ingest
benchmark). We use no maintenance notifications: the probe is off.

Every caller survives Redis being down (drain claims, the cache and /health fall back), so a
call must fail fast rather than wait: redis-py's 5 s socket timeouts would add 5 s to an ingest
frame or an API call while Redis is unreachable (a refused connection fails at once anyway;
these bound a Redis host that does not answer). Redis answers in well under a millisecond here.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.maint_notifications import MaintNotificationsConfig

NO_MAINT_NOTIFICATIONS = {"maint_notifications_config": MaintNotificationsConfig(enabled=False)}
FAIL_FAST = {"socket_connect_timeout": 1.0, "socket_timeout": 2.0}


def redis_client(url: str, **options: Any) -> redis.Redis:
    return redis.Redis.from_url(url, **{**NO_MAINT_NOTIFICATIONS, **FAIL_FAST, **options})
