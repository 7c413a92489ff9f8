"""The answer cache holds each answer encoded as JSON (stats.api.views._cached): a cached answer
is the very bytes of the computed one, in JSON, CSV and the indented hint alike."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from stats.api import views
from tests.api.conftest import GUILD
from tests.api.test_stats_api import activity  # noqa: F401  (a fixture: some counted events)

URLS = [
    "dashboard?period=week",
    "members?page=1&pageSize=2&sortBy=lastSeen",
    "leaderboard?category=overall&period=all",
    "overview",
    "activity?period=today&granularity=hour",
    "activity?period=week&granularity=day&format=csv",
    "heatmap?period=week",
]


class Recording:
    """The cache as stats.api.views sees it, noting the answers' keys."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def get_or_set(self, name, *args, **kwargs):
        self.names.append(name)
        return cache.get_or_set(name, *args, **kwargs)


@pytest.fixture
def recording(monkeypatch) -> Recording:
    spy = Recording()
    monkeypatch.setattr(views, "cache", spy)
    return spy


@pytest.mark.parametrize("url", URLS)
def test_a_cached_answer_is_the_computed_one(
    api,
    key_for_guild,
    activity,  # noqa: F811
    settings,
    url,
    recording,
):
    client = api(key_for_guild)
    path = f"/api/guilds/{GUILD}/stats/{url}"
    settings.API_CACHE_SECONDS = 0
    computed = client.get(path)
    settings.API_CACHE_SECONDS = 30
    cache.clear()
    first, hit = client.get(path), client.get(path)
    assert computed.status_code == first.status_code == hit.status_code == 200
    assert computed.content == first.content == hit.content
    assert computed["Content-Type"] == hit["Content-Type"]
    stored = [cache.get(name) for name in recording.names]
    assert stored and all(isinstance(value, bytes) for value in stored)
    indented = client.get(path, HTTP_ACCEPT="application/json; indent=2")
    if "format=csv" not in url:
        assert indented.content.startswith(b"{\n")
        assert indented.json() == computed.json()


def test_an_entry_cached_as_a_dict_is_still_served(
    api,
    key_for_guild,
    activity,  # noqa: F811
    settings,
    recording,
):
    """Entries written before answers were cached encoded (a deploy within 30 s of them)."""
    client = api(key_for_guild)
    path = f"/api/guilds/{GUILD}/stats/activity?period=week&granularity=day"
    settings.API_CACHE_SECONDS = 30
    cache.clear()
    body = client.get(path).json()
    (name,) = set(recording.names)
    cache.set(name, body, 30)
    assert client.get(path).json() == body
    csv = client.get(path + "&format=csv")
    assert csv.status_code == 200
    assert len(csv.content.decode().splitlines()) == len(body["dataPoints"]) + 1
