"""Django's Redis cache, with one client per process, that degrades when Redis is down.

One client: Django keeps cache objects per thread, and its Redis backend gives each object its
own connection pool. Under ASGI every request runs on a new thread, so each request opened a
new Redis connection (a third of the time of a small API call). redis-py clients are
thread-safe, so all threads of a process can share one.

Degrading: the cache only saves work (answers, API keys and guild rows are all read from the
database on a miss) and DRF's throttle counts in it. Django's backend raises ``ConnectionError``
when Redis is unreachable, which made every API call answer 500 during a Redis outage. Here a
Redis error makes the operation a miss (``get`` returns the default, ``add`` reports nothing
added, ``incr`` raises the ``ValueError`` of a missing key) or a no-op (``set``, ``delete``, …),
so the API answers from the database and the throttle lets calls through (it fails open: it
protects the database from one noisy caller, not from attack). After an error Redis is not asked
again for ``RETRY_AFTER_SECONDS`` (every call would otherwise pay a failed connect), and the
warning is logged at most once per ``LOG_EVERY_SECONDS`` per process, not a traceback per call.
The first call after the pause reconnects by itself once Redis is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from core.redis import FAIL_FAST

log = logging.getLogger(__name__)

_clients: dict[tuple[tuple[str, ...], str], RedisCacheClient] = {}
_lock = threading.Lock()

T = TypeVar("T")
REDIS_ERRORS = (redis.RedisError, OSError)
RETRY_AFTER_SECONDS = 1.0
LOG_EVERY_SECONDS = 30.0


class _Outage:
    """Per-process state of the cache's Redis: when to try again, when we last logged."""

    def __init__(self) -> None:
        self.retry_at = 0.0
        self.logged_at = -LOG_EVERY_SECONDS
        self.down = False
        self.lock = threading.Lock()

    def skipping(self) -> bool:
        return self.down and time.monotonic() < self.retry_at

    def failed(self, operation: str, exc: BaseException) -> None:
        now = time.monotonic()
        with self.lock:
            self.down = True
            self.retry_at = now + RETRY_AFTER_SECONDS
            if now - self.logged_at < LOG_EVERY_SECONDS:
                return
            self.logged_at = now
        log.warning(
            "cache unavailable (%s: %s: %s); answering from the database, throttle off, "
            "until Redis is back",
            operation,
            type(exc).__name__,
            exc,
        )

    def succeeded(self) -> None:
        if self.down:
            with self.lock:
                if self.down:
                    self.down = False
                    log.warning("cache available again")


_outage = _Outage()


class _ReusingClient(RedisCacheClient):
    """Django's client builds a new ``redis.Redis`` for every operation, and each one fills a
    table of ~170 response callbacks: a sixth of a millisecond per cache call, a third of a
    cached API answer's time. The ``redis.Redis`` of a pool is thread-safe: keep one."""

    if TYPE_CHECKING:  # Django's private parts used here, which django-stubs does not declare
        _client: type[redis.Redis]

        def _get_connection_pool_index(self, write: bool) -> int: ...
        def _get_connection_pool(self, write: bool) -> redis.ConnectionPool: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis: dict[int, redis.Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        index = self._get_connection_pool_index(write)
        client = self._redis.get(index)
        if client is None:
            client = self._redis.setdefault(
                index, self._client(connection_pool=self._get_connection_pool(write))
            )
        return client

    def incr(self, key: Any, delta: int) -> int:
        """Django's ``incr`` asks Redis twice (``EXISTS``, then ``INCRBY``); the API's rate
        limit increments on every request. One script does both in one round trip, and
        atomically: a missing key is still a ``ValueError`` and is never created."""
        value: int | None = self.get_client(key, write=True).eval(_INCR_EXISTING, 1, key, delta)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value


# Redis caches a script by its digest after its first EVAL; the reply is nil for a missing key
_INCR_EXISTING = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "end return false"
)


class SharedClientRedisCache(RedisCache):
    # Django's attributes used here, which django-stubs does not declare
    _servers: list[str]
    _options: dict[str, Any]
    _class: type[RedisCacheClient]

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient
        # redis-py's default socket timeouts are 5 s: fail fast instead (see core.redis)
        self._options = {**FAIL_FAST, **self._options}

    @property
    def _cache(self) -> RedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        client = _clients.get(key)
        if client is None:
            with _lock:
                client = _clients.setdefault(key, self._class(self._servers, **self._options))
        return client

    def _degrade(
        self, operation: str, call: Callable[..., T], fallback: Callable[[], T], *args: Any
    ) -> T:
        """``call(*args)``, or ``fallback()`` when Redis fails (or failed a moment ago)."""
        if _outage.skipping():
            return fallback()
        try:
            result = call(*args)
        except REDIS_ERRORS as exc:
            _outage.failed(operation, exc)
            return fallback()
        _outage.succeeded()
        return result

    # Every operation of Django's RedisCache, each with its cache-miss or no-op answer
    # (get_or_set, get_or_set's callers, etc. are built on these by BaseCache).
    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return self._degrade("add", super().add, _false, key, value, timeout, version)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._degrade("get", super().get, lambda: default, key, default, version)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._degrade("set", super().set, _none, key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._degrade("touch", super().touch, _false, key, timeout, version)

    def delete(self, key: Any, version: Any = None) -> bool:
        return self._degrade("delete", super().delete, _false, key, version)

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        return self._degrade("get_many", super().get_many, dict, keys, version)

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._degrade("has_key", super().has_key, _false, key, version)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        def missing() -> int:
            raise ValueError(f"Key '{key}' not found (cache unavailable).")

        return self._degrade("incr", super().incr, missing, key, delta, version)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> list[Any]:
        # Django's contract: the keys that failed to be stored
        return self._degrade(
            "set_many", super().set_many, lambda: list(data), data, timeout, version
        )

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._degrade("delete_many", super().delete_many, _none, keys, version)

    # django-stubs gives RedisCache BaseCache's ``clear() -> None``; Django's returns a bool, as
    # its body does (``self._cache.clear()``, called here so that its type is known)
    def clear(self) -> bool:  # type: ignore[override]
        return self._degrade("clear", lambda: self._cache.clear(), _false)


def _false() -> bool:
    return False


def _none() -> None:
    return None
