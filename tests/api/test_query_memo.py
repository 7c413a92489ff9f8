"""guilds.api.views.valid remembers validated query strings: same answers as a fresh
serializer, refusals raised every time, each caller gets its own dict."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from guilds.api import views
from stats.api import serializers as s


@pytest.fixture(autouse=True)
def _fresh_memo():
    views._valid_query.cache_clear()
    yield
    views._valid_query.cache_clear()


def fresh(serializer_class: type, query: str) -> dict:
    serializer = serializer_class(data=QueryDict(query).dict())
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@pytest.mark.parametrize(
    ("serializer_class", "query"),
    [
        (s.LeaderboardQuery, "category=overall&period=all"),
        (s.LeaderboardQuery, ""),
        (s.MembersQuery, "page=100&sortBy=lastSeen&activeOnly=true&minMessages=10"),
        (s.ActivityQuery, "period=month&granularity=hour&format=csv"),
        (s.PeriodQuery, "period=today&period=month"),  # the last value of a repeated name
    ],
)
def test_remembered_answers_are_the_serializers(serializer_class, query):
    first = views.valid(serializer_class, QueryDict(query))
    again = views.valid(serializer_class, QueryDict(query))
    assert first == again == fresh(serializer_class, query)
    assert views._valid_query.cache_info().hits == 1
    again["period"] = "changed"  # a caller's dict is its own
    assert views.valid(serializer_class, QueryDict(query)) == first


@pytest.mark.parametrize(
    "query", ["period=", "period=year", "period=all&granularity=hour", "limit=7.0"]
)
def test_a_refused_query_is_refused_every_time(query):
    serializer_class = s.ActivityQuery if "granularity" in query else s.LeaderboardQuery
    for _ in range(2):
        with pytest.raises(ValidationError) as refused:
            views.valid(serializer_class, QueryDict(query))
        serializer = serializer_class(data=QueryDict(query).dict())
        assert not serializer.is_valid()
        assert refused.value.detail == serializer.errors


def test_long_query_strings_are_not_remembered():
    query = "period=all&" + "x" * 300 + "=1"
    assert views.valid(s.LeaderboardQuery, QueryDict(query))["period"] == "all"
    assert views._valid_query.cache_info().currsize == 0
