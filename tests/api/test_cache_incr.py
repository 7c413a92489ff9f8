"""config.cache's ``incr`` in one round trip (the rate limit's counter): Django's semantics —
a missing key raises ValueError and is not created; the expiry of an existing key is kept."""

from __future__ import annotations

import pytest
from django.conf import settings

from config.cache import SharedClientRedisCache

pytestmark = pytest.mark.redis


@pytest.fixture
def cache():
    live = SharedClientRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "incr-test"})
    live.delete_many(["counter", "missing"])
    yield live
    live.delete_many(["counter", "missing"])


def test_incr_counts_and_keeps_the_expiry(cache):
    assert cache.add("counter", 1, 60)
    assert cache.incr("counter") == 2
    assert cache.incr("counter", 5) == 7
    assert cache.get("counter") == 7
    client = cache._cache.get_client(write=True)
    assert 0 < client.ttl(cache.make_key("counter")) <= 60


def test_incr_of_a_missing_key_raises_and_creates_nothing(cache):
    with pytest.raises(ValueError):
        cache.incr("missing")
    assert cache.get("missing") is None
    assert not cache.has_key("missing")


def test_one_round_trip(cache, monkeypatch):
    cache.set("counter", 1, 60)
    client = cache._cache.get_client(write=True)
    commands = []
    original = client.execute_command

    def spy(*args, **kwargs):
        commands.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(client, "execute_command", spy)
    assert cache.incr("counter") == 2
    assert commands == ["EVAL"]
