"""The Redis cache backend degrades to misses and no-ops when Redis is unreachable
(config.cache), logging one warning per outage rather than a traceback per call."""

from __future__ import annotations

import logging
import socket

import pytest

from config import cache as cache_module
from config.cache import SharedClientRedisCache

pytestmark = [pytest.mark.redis, pytest.mark.outage]


@pytest.fixture
def dead_cache(monkeypatch: pytest.MonkeyPatch) -> SharedClientRedisCache:
    monkeypatch.setattr(cache_module, "_outage", cache_module._Outage())
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return SharedClientRedisCache(f"redis://127.0.0.1:{port}/0", {"KEY_PREFIX": "t"})


def test_every_operation_is_a_miss_or_a_no_op(dead_cache, caplog):
    caplog.set_level(logging.WARNING, logger="config.cache")
    assert dead_cache.get("k") is None
    assert dead_cache.get("k", "fallback") == "fallback"
    assert dead_cache.get_or_set("k", lambda: 42, 30) == 42  # computed, not stored
    assert dead_cache.add("k", 1) is False
    dead_cache.set("k", 1)
    assert dead_cache.touch("k") is False
    assert dead_cache.delete("k") is False
    assert dead_cache.get_many(["a", "b"]) == {}
    assert dead_cache.has_key("k") is False
    assert dead_cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    dead_cache.delete_many(["a", "b"])
    assert dead_cache.clear() is False
    with pytest.raises(ValueError):
        dead_cache.incr("k")
    warnings = [r for r in caplog.records if r.name == "config.cache"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # rate-limited
    assert warnings[0].exc_info is None  # no traceback


def test_the_drf_throttle_lets_calls_through(dead_cache, monkeypatch):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "cache", dead_cache)
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "1/min"})

    class Request:
        user = type("U", (), {"is_authenticated": True, "pk": 7})()
        META: dict[str, str] = {}

    throttle = UserRateThrottle()
    assert all(throttle.allow_request(Request(), None) for _ in range(3))


def test_a_redis_that_comes_back_is_used_again(dead_cache, monkeypatch):
    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    assert dead_cache.get("k", "miss") == "miss"
    assert cache_module._outage.down
    live = SharedClientRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "outage-test"})
    # within the pause after an error, Redis is not even asked
    assert live.get("anything", "skipped") == "skipped"
    monkeypatch.setattr(cache_module, "RETRY_AFTER_SECONDS", 0.0)
    cache_module._outage.retry_at = 0.0
    live.set("k", "v", 30)
    assert live.get("k") == "v"
    assert not cache_module._outage.down
    live.delete("k")
