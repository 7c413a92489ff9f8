"""Django's Redis cache with one client (and connection pool) per process.

Django keeps cache objects per thread, and its Redis backend gives each object its own
connection pool. Under ASGI every request runs on a new thread, so each request opened a new
Redis connection (a third of the time of a small API call). redis-py clients are thread-safe,
so all threads of a process can share one.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache

_clients: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


class SharedClientRedisCache(RedisCache):
    @property
    def _cache(self) -> Any:  # type: ignore[override]
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        client = _clients.get(key)
        if client is None:
            with _lock:
                client = _clients.setdefault(key, self._class(self._servers, **self._options))
        return client
